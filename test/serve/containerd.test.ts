import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertIsolatedNetwork, startContainerd, type LabContainerd } from '../../scripts/lab/index.js';
import type { ServeEvent } from '../../src/serve/events.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { writeFixtureBundle, type FixtureBundle } from './fixture.js';

/**
 * containerd pulls through `airgap serve` as a node would: hosts.toml mirrors (the snippet the
 * server prints), `ctr images pull --hosts-dir`, and CRI PullImage by each image's original name.
 * Runs only inside an empty network namespace (scripts/test.sh), where a mirror miss cannot fall
 * back to the real registries.
 */

const isolated = await assertIsolatedNetwork().then(() => true, () => false);
const skip = !isolated ? 'needs an empty network namespace: run with scripts/test.sh (unshare -n)' : process.getuid?.() !== 0 ? 'needs root' : false;

let dir: string;
let fx: FixtureBundle;
let server: RunningServer;
let lab: LabContainerd;
const requests: Extract<ServeEvent, { event: 'request' }>[] = [];

describe('serve: containerd pulls through airgap serve', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-serve-ctrd-'));
    fx = await writeFixtureBundle(join(dir, 'b.tar'), [
      { ref: 'registry.k8s.io/pause:3.9', platforms: ['linux/amd64', 'linux/arm64'] },
      { ref: 'registry.k8s.io/kube-proxy:v1.30.14', platforms: ['linux/amd64', 'linux/arm64'], excluded: ['linux/arm64'], shared: true },
      { ref: 'registry.k8s.io/coredns/coredns:v1.11.3', platforms: ['linux/amd64', 'linux/arm64'], docker: true, shared: true },
      { ref: 'registry.k8s.io/etcd:3.5.15-0' },
      { ref: 'docker.io/library/nginx:1.25', platforms: ['linux/amd64'], docker: true },
    ]);
    server = await startServer({ bundle: fx.path, addr: '127.0.0.1:0', onEvent: (e) => e.event === 'request' && requests.push(e) });
    lab = await startContainerd({ dir: join(dir, 'ctrd') });
    // Exactly what the banner tells users to paste.
    for (const registry of server.registries) {
      await mkdir(join(lab.hostsDir, registry), { recursive: true });
      await writeFile(join(lab.hostsDir, registry, 'hosts.toml'), server.hostsToml(registry));
    }
  });

  after(async () => {
    await lab?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ctr images pull --hosts-dir gets registry.k8s.io/pause:3.9 with the bundle\'s digest', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    await lab.ctr(['-n', 'k8s.io', 'images', 'pull', '--hosts-dir', lab.hostsDir, '--plain-http', 'registry.k8s.io/pause:3.9']);
    const list = await lab.ctr(['-n', 'k8s.io', 'images', 'ls']);
    const line = list.split('\n').find((l) => l.startsWith('registry.k8s.io/pause:3.9 '));
    assert.ok(line, list);
    assert.ok(line.includes(img.digest), line);
    assert.ok(requests.some((r) => r.path === '/v2/registry.k8s.io/pause/manifests/3.9?ns=registry.k8s.io' && r.status === 200),
      'containerd asked the override_path form with ?ns=');
  });

  it('CRI PullImage pulls every bundle image by its original name', async () => {
    for (const img of fx.images) {
      const imageRef = await lab.cri.pullImage(img.ref);
      assert.match(imageRef, /^sha256:[0-9a-f]{64}$/, img.ref);
      const status = await lab.cri.imageStatus(img.ref);
      assert.ok(status, `CRI knows ${img.ref}`);
      const name = img.ref.slice(0, img.ref.lastIndexOf(':'));
      assert.ok(status.repoDigests.includes(`${name}@${img.digest}`), `${img.ref}: ${status.repoDigests.join(', ')}`);
    }
    const failed = requests.filter((r) => r.status >= 500 || (r.note && r.note !== 'client closed the connection'));
    assert.deepEqual(failed, []);
  });

  it('serves containerd\'s ?ns= form when hosts.toml names the server without a path', async () => {
    const plainDir = join(dir, 'certs-plain');
    await mkdir(join(plainDir, 'registry.k8s.io'), { recursive: true });
    await writeFile(join(plainDir, 'registry.k8s.io', 'hosts.toml'), [
      'server = "https://registry.k8s.io"',
      `[host."${server.url}"]`,
      '  capabilities = ["pull", "resolve"]',
      '',
    ].join('\n'));
    const before = requests.length;
    await lab.ctr(['-n', 'other', 'images', 'pull', '--hosts-dir', plainDir, '--plain-http', 'registry.k8s.io/etcd:3.5.15-0']);
    const asked = requests.slice(before);
    assert.ok(asked.some((r) => r.path === '/v2/etcd/manifests/3.5.15-0?ns=registry.k8s.io' && r.status === 200), asked.map((r) => `${r.path} ${r.status}`).join('\n'));
    const list = await lab.ctr(['-n', 'other', 'images', 'ls', '-q']);
    assert.match(list, /^registry\.k8s\.io\/etcd:3\.5\.15-0$/m);
  });
});
