/**
 * k0s end to end, inside a private mount namespace where /etc/k0s, /var/lib/k0s, /run/k0s (and
 * /etc/containerd) are empty tmpfs, with a real containerd started the way k0s starts it — on a
 * k0s-managed /etc/k0s/containerd.toml whose CRI section k0s merges from its defaults and the CRI
 * drop-ins in /etc/k0s/containerd.d. The usual command line must detect k0s, import through
 * /run/k0s/containerd.sock, write a drop-in (never containerd.toml), and after k0s's restart the
 * containerd must report the bundle's pause as its sandbox image through CRI and pull every image
 * through the mirror by its original name (only lo exists, so nothing else could serve it).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateImages, startRegistry, type GeneratedImages, type LabRegistry } from '../../../scripts/lab/index.js';
import { K0S_DEFAULT_PAUSE, K0S_TMPFS } from '../../helpers/k0s-containerd.js';
import { bundleFromLayout } from '../../helpers/lab-bundle.js';
import { makeTempDir } from '../../helpers/make-bundle.js';
import { assertNamespaceLab, inMountNamespace } from '../../helpers/mount-namespace.js';
import type { K0sLoadResult } from '../scenarios.js';

const MODULE = fileURLToPath(new URL('../scenarios.js', import.meta.url));
/** The field report's bundle: pause 3.9 (k0s v1.30), which containerd 1.7's built-in 3.8 is not. */
const REFS = ['registry.k8s.io/pause:3.9', 'quay.io/k0sproject/kube-proxy:v1.30.14', 'quay.io/k0sproject/coredns:1.11.4'];

describe('k0s node: airgap load --registry --containerd --configure-containerd', () => {
  let gen: GeneratedImages;
  let reg: LabRegistry | undefined;
  let work: { dir: string; cleanup(): Promise<void> } | undefined;
  let r: K0sLoadResult;

  before(async () => {
    await assertNamespaceLab();
    gen = await generateImages({ scale: 0.01, refs: REFS.map((ref) => ({ ref })) });
    work = await makeTempDir('airgap-k0s-e2e-');
    const bundle = (await bundleFromLayout(gen.layoutDir, join(work.dir, 'k0s.tar'))).path;
    reg = await startRegistry();
    r = await inMountNamespace<K0sLoadResult>({
      tmpfs: [...K0S_TMPFS, '/etc/containerd'],
      module: MODULE,
      fn: 'k0sLoad',
      arg: { bundle, registryUrl: reg.url, refs: REFS },
      timeoutMs: 170_000,
    });
  });
  after(async () => {
    await reg?.stop();
    await work?.cleanup();
  });

  it('detects k0s and imports through /run/k0s/containerd.sock with the pause pinned', () => {
    assert.equal(r.load.exitCode, 0, r.load.stderr + r.load.stdout);
    const events = r.load.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const node = events.find((e) => e.event === 'node');
    assert.equal(node?.distribution, 'k0s');
    assert.equal(node?.containerdSocket, '/run/k0s/containerd.sock');
    assert.deepEqual(r.imagesAfterLoad.map((i) => i.name).sort(), [...REFS].sort());
    assert.equal(r.imagesAfterLoad.find((i) => i.name === REFS[0])?.pinned, true);
  });

  it('never writes /etc/k0s/containerd.toml; the drop-in sets the bundle\'s pause and the hosts directory', () => {
    assert.ok(r.containerdTomlBefore !== null);
    assert.equal(r.containerdTomlAfterLoad, r.containerdTomlBefore);
    assert.deepEqual(Object.keys(r.dropIns), ['airgap.toml']);
    assert.match(r.dropIns['airgap.toml']!, /^version = 2$/m);
    assert.match(r.dropIns['airgap.toml']!, /sandbox_image = "registry\.k8s\.io\/pause:3\.9"/);
    assert.match(r.dropIns['airgap.toml']!, /config_path = "\/etc\/k0s\/containerd\.d\/certs\.d"/);
    assert.deepEqual(r.hostsFiles, ['/etc/k0s/containerd.d/certs.d/quay.io/hosts.toml', '/etc/k0s/containerd.d/certs.d/registry.k8s.io/hosts.toml']);
  });

  it('after k0s restarts, containerd reports the bundle\'s pause as sandbox image through CRI (not k0s\'s own)', () => {
    assert.equal(r.sandboxBefore, K0S_DEFAULT_PAUSE);
    assert.deepEqual(r.merged, ['/etc/k0s/containerd.d/airgap.toml']);
    assert.equal(r.sandboxAfterRestart, 'registry.k8s.io/pause:3.9');
  });

  it('pulls every bundle image through the mirror by its original name, with the bundle\'s digests', () => {
    assert.equal(r.pulls.length, REFS.length);
    for (const p of r.pulls) {
      assert.equal(p.error, undefined, `${p.image}: ${p.error}`);
      const img = gen.images.find((i) => i.ref === p.image)!;
      assert.deepEqual(p.repoDigests, [`${p.image.slice(0, p.image.lastIndexOf(':'))}@${img.digest}`]);
    }
  });
});
