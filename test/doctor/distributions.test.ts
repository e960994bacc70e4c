/**
 * doctor on the two field reports this project started from, each on a simulated node (private
 * mount namespace, a real containerd where the distribution runs it): it must fail with a fix,
 * and the fix, applied as written, must turn the whole report green.
 * - k3s v1.32.2+k3s1 with a "*" mirror in registries.yaml (containerd 2.0 broke its fallback).
 * - k0s with /etc/k0s/containerd.toml replaced by an old-format file (containerd fell back to its
 *   built-in pause while the bundle held pause:3.9).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateImages, startRegistry, type LabRegistry } from '../../scripts/lab/index.js';
import { K0S_TMPFS } from '../helpers/k0s-containerd.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { makeTempDir } from '../helpers/make-bundle.js';
import { assertNamespaceLab, inMountNamespace } from '../helpers/mount-namespace.js';
import type { DoctorFixResult } from '../node/scenarios.js';

const MODULE = fileURLToPath(new URL('../node/scenarios.js', import.meta.url));

function failed(r: DoctorFixResult['before']): string[] {
  return r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

describe('doctor on the field reports: fail with a fix, green once it is applied', () => {
  let reg: LabRegistry | undefined;
  let work: { dir: string; cleanup(): Promise<void> } | undefined;

  before(async () => {
    await assertNamespaceLab();
    work = await makeTempDir('airgap-doctor-distros-');
    reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
    await work?.cleanup();
  });

  it('k3s v1.32.2+k3s1 with a "*" mirror: fails naming the broken fallback, green after the fix', async () => {
    const refs = ['docker.io/rancher/mirrored-pause:3.6', 'registry.k8s.io/metrics-server/metrics-server:v0.7.2'];
    const gen = await generateImages({ scale: 0.01, refs: refs.map((ref) => ({ ref })) });
    const bundle = (await bundleFromLayout(gen.layoutDir, join(work!.dir, 'k3s.tar'))).path;
    const r = await inMountNamespace<DoctorFixResult>({
      tmpfs: ['/etc/rancher', '/var/lib/rancher', '/run/k3s', '/etc/containerd'],
      module: MODULE,
      fn: 'k3sWildcardDoctor',
      arg: { bundle, registryUrl: reg!.url, release: 'v1.32.2+k3s1', sandboxImage: refs[0] },
      timeoutMs: 170_000,
    });
    assert.equal(r.before.node?.distribution, 'k3s');
    const wildcard = r.before.checks.find((c) => c.id === 'k3s.wildcard-mirror');
    assert.equal(wildcard?.status, 'fail', JSON.stringify(r.before.checks, null, 1));
    assert.match(wildcard!.message, /containerd 2\.0/);
    assert.match(wildcard!.message, /v1\.32\.2\+k3s1/);
    assert.match(wildcard!.fix!, /airgap load .* --configure-containerd/);
    assert.match(wildcard!.fix!, /remove the "\*" entry|replace "\*"/);
    assert.equal(r.before.checks.find((c) => c.id === 'k3s.mirror-entries')?.status, 'fail', 'no explicit entry for the bundle registries');
    assert.equal(r.applied[0]!.exitCode, 0, r.applied[0]!.stderr + r.applied[0]!.stdout);
    assert.deepEqual(failed(r.after), [], JSON.stringify(r.after.checks.filter((c) => c.status !== 'ok'), null, 1));
    assert.equal(r.after.ok, true);
    assert.equal(r.after.checks.find((c) => c.id === 'k3s.mirror-entries')?.status, 'ok');
    assert.equal(r.after.checks.find((c) => c.id === 'k3s.wildcard-mirror'), undefined);
  });

  it('k0s with containerd.toml replaced by an old-format file: fails naming the pause fallback, green after the fix', async () => {
    const refs = ['registry.k8s.io/pause:3.9', 'quay.io/k0sproject/kube-proxy:v1.30.14'];
    const gen = await generateImages({ scale: 0.01, refs: refs.map((ref) => ({ ref })) });
    const bundle = (await bundleFromLayout(gen.layoutDir, join(work!.dir, 'k0s.tar'))).path;
    const r = await inMountNamespace<DoctorFixResult>({
      tmpfs: [...K0S_TMPFS, '/etc/containerd'],
      module: MODULE,
      fn: 'k0sReplacedDoctor',
      arg: { bundle, registryUrl: reg!.url },
      timeoutMs: 170_000,
    });
    assert.equal(r.before.node?.distribution, 'k0s');
    const toml = r.before.checks.find((c) => c.id === 'k0s.containerd-toml');
    assert.equal(toml?.status, 'fail', JSON.stringify(r.before.checks, null, 1));
    assert.match(toml!.message, /version 1/);
    assert.match(toml!.fix!, /containerd\.d/);
    assert.match(toml!.fix!, /delete \/etc\/k0s\/containerd\.toml/);
    const sandbox = r.before.checks.find((c) => c.id === 'sandbox.image');
    assert.equal(sandbox?.status, 'fail');
    assert.match(sandbox!.message, /bundle has registry\.k8s\.io\/pause:3\.9/);
    assert.equal(r.applied[0]!.exitCode, 0, r.applied[0]!.stderr + r.applied[0]!.stdout);
    assert.deepEqual(failed(r.after), [], JSON.stringify(r.after.checks.filter((c) => c.status !== 'ok'), null, 1));
    assert.equal(r.after.checks.find((c) => c.id === 'k0s.containerd-toml')?.status, 'ok');
    assert.equal(r.after.checks.find((c) => c.id === 'sandbox.image')?.status, 'ok');
  });
});
