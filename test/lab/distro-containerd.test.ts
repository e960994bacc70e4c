/**
 * A real containerd 1.6 at a distribution's paths, inside a private mount namespace (tmpfs over
 * /etc/rancher, /var/lib/rancher, /run/k3s): it answers CRI at /run/k3s/containerd/containerd.sock
 * with the sandbox image given, and leaves nothing behind (no process, no socket, nothing on the
 * host). Then the k3s path end to end: registries.yaml -> renderK3sHosts -> hosts.toml ->
 * containerd pulls registry.k8s.io/pause:3.9 by its original name over CRI from a real registry on
 * 127.0.0.1 (only lo exists here, so the pull can only have come through the mirror).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { assertNamespaceLab, inMountNamespace } from '../helpers/mount-namespace.js';
import type { K3sScenarioResult } from './ns-scenarios.js';

const MODULE = fileURLToPath(new URL('./ns-scenarios.js', import.meta.url));
const K3S_TMPFS = ['/etc/rancher', '/var/lib/rancher', '/run/k3s'];
const PAUSE = 'registry.k8s.io/pause:3.9';
/** Host paths containerd would create if it escaped its configured dirs. */
const HOST_PATHS = ['/run/containerd', '/var/lib/containerd', '/run/k3s', '/var/lib/rancher', '/etc/rancher'];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startDistroContainerd in a k3s layout', () => {
  let reg: LabRegistry | undefined;
  let gen: GeneratedImages;
  const hostBefore = new Map(HOST_PATHS.map((p) => [p, existsSync(p) ? readdirSync(p).sort() : null]));

  before(async () => {
    await assertNamespaceLab();
    gen = await generateImages({ scale: 0.01 });
    reg = await startRegistry();
    await seedRegistry(reg, gen, { only: [PAUSE] });
  });
  after(async () => {
    await reg?.stop();
  });

  it('answers CRI status at /run/k3s/containerd/containerd.sock with the given sandbox image, and leaves nothing after stop', async () => {
    const r = await inMountNamespace<K3sScenarioResult>({
      tmpfs: K3S_TMPFS,
      module: MODULE,
      fn: 'k3sNode',
      arg: { sandboxImage: 'rancher/mirrored-pause:3.6' },
    });
    assert.equal(r.socket, '/run/k3s/containerd/containerd.sock');
    assert.equal(r.runtimeName, 'containerd');
    assert.equal(r.ready, true, 'RuntimeReady');
    assert.equal(r.sandboxImage, 'rancher/mirrored-pause:3.6');
    assert.equal(r.configPath, '/var/lib/rancher/k3s/agent/etc/containerd/certs.d');
    assert.equal(r.socketAfterStop, false, 'no socket after stop');
    assert.deepEqual(r.runDirAfterStop, [], 'no sockets left under /run/k3s');
    assert.equal(alive(r.pid), false, 'containerd is gone');
    for (const [p, entries] of hostBefore) {
      assert.deepEqual(existsSync(p) ? readdirSync(p).sort() : null, entries, `${p} on the host is as before`);
    }
  });

  it('pulls registry.k8s.io/pause:3.9 by its original name through the hosts.toml k3s generates from registries.yaml', async () => {
    const pause = gen.images.find((i) => i.ref === PAUSE)!;
    const registriesYaml = `mirrors:\n  registry.k8s.io:\n    endpoint:\n      - "${reg!.url}/v2/registry.k8s.io"\n`;
    const r = await inMountNamespace<K3sScenarioResult>({
      tmpfs: K3S_TMPFS,
      module: MODULE,
      fn: 'k3sNode',
      arg: { registriesYaml, sandboxImage: PAUSE, pull: PAUSE },
    });
    assert.deepEqual(Object.keys(r.hostsFiles), ['registry.k8s.io']);
    assert.match(r.hostsFiles['registry.k8s.io']!, new RegExp(`^\\[host\\."${reg!.url.replace(/[.]/g, '\\.')}/v2/registry\\.k8s\\.io"\\]\\n {2}capabilities = \\["pull", "resolve"\\]\\n {2}override_path = true$`, 'm'));
    assert.ok(r.pulled, 'pulled');
    assert.deepEqual(r.pulled.repoTags, [PAUSE]);
    assert.deepEqual(r.pulled.repoDigests, [`registry.k8s.io/pause@${pause.digest}`]);
    assert.equal(r.sandboxImage, PAUSE);
    assert.equal(alive(r.pid), false);
  });

  it('fails, not skips, when the mirror does not serve the image (nothing else is reachable)', async () => {
    const registriesYaml = `mirrors:\n  registry.k8s.io:\n    endpoint:\n      - "${reg!.url}/v2/elsewhere"\n`;
    await assert.rejects(
      inMountNamespace({ tmpfs: K3S_TMPFS, module: MODULE, fn: 'k3sNode', arg: { registriesYaml, sandboxImage: PAUSE, pull: PAUSE } }),
      /not found|failed to resolve|pull/i,
    );
  });
});
