/**
 * A kubeadm node through the NodeKind interface. The planning itself is containerd's (plan.test.ts
 * covers it); here: containerd 2.2's built-in hosts directory list, 2.1 without one, one 1.7 case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtInConfigPath, DEFAULT_HOSTS_DIR } from '../../../src/node/containerd/plan.js';
import { getPath, parseToml } from '../../../src/node/containerd/toml.js';
import { parseVersionString } from '../../../src/node/containerd/version.js';
import { applyFileChanges } from '../../../src/node/file-change.js';
import { KubeadmNode } from '../../../src/node/kubeadm/node.js';
import type { NodeConfigRequest } from '../../../src/node/node.js';
import { withRoot } from '../fake-root.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const REQ: NodeConfigRequest = { registries: ['registry.k8s.io', 'docker.io'], mirror: { url: 'http://127.0.0.1:5000' }, sandboxImage: PAUSE };

const hasConfigPath = (text: string) => /config_path/.test(text);

test('builtInConfigPath: containerd 2.2 and later only', () => {
  assert.equal(builtInConfigPath(parseVersionString('2.2.0')), '/etc/containerd/certs.d:/etc/docker/certs.d');
  assert.equal(builtInConfigPath(parseVersionString('3.0.0')), '/etc/containerd/certs.d:/etc/docker/certs.d');
  assert.equal(builtInConfigPath(parseVersionString('2.1.4')), undefined);
  assert.equal(builtInConfigPath(parseVersionString('1.7.27')), undefined);
  assert.equal(builtInConfigPath(undefined), undefined);
});

test('containerd 2.2, no config file: no config_path written, hosts go to /etc/containerd/certs.d (planned, not written)', async () => {
  await withRoot({}, async (r) => {
    // No hostsDir: the default directory is what 2.2 reads by itself. The plan only reads.
    const node = new KubeadmNode({ configPath: r.path('etc/containerd/config.toml') });
    const plan = await node.planConfig({ ...REQ, containerdVersion: '2.2.0' });
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.hostsDir, DEFAULT_HOSTS_DIR);
    for (const c of plan.changes) assert.ok(!hasConfigPath(c.after), `${c.path} sets config_path:\n${c.after}`);
    const hosts = plan.changes.filter((c) => c.role === 'hosts').map((c) => c.path);
    for (const h of hosts) assert.ok(h.startsWith(`${DEFAULT_HOSTS_DIR}/`), h);
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    const doc = parseToml(dropIn.after, dropIn.path).root;
    assert.equal(doc.version, 3);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), PAUSE);
    assert.equal(plan.sandboxImage, PAUSE);
    assert.equal(plan.restart.what, 'containerd');
    assert.equal(await node.hostsDir(), DEFAULT_HOSTS_DIR);
  });
});

test('containerd 2.2 with a hosts directory elsewhere: config_path is set to it', async () => {
  await withRoot({}, async (r) => {
    const node = new KubeadmNode({ configPath: r.path('etc/containerd/config.toml'), hostsDir: r.path('etc/containerd/certs.d') });
    const plan = await node.planConfig({ ...REQ, containerdVersion: '2.2.0' });
    assert.equal(plan.hostsDir, r.path('etc/containerd/certs.d'));
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    assert.equal(getPath(parseToml(dropIn.after).root, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), r.path('etc/containerd/certs.d'));
  });
});

test('containerd 2.1, no config file: config_path IS set (no built-in list)', async () => {
  await withRoot({}, async (r) => {
    const node = new KubeadmNode({ configPath: r.path('etc/containerd/config.toml'), hostsDir: r.path('etc/containerd/certs.d') });
    const plan = await node.planConfig({ ...REQ, containerdVersion: '2.1.4' });
    assert.deepEqual(plan.errors, []);
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    const doc = parseToml(dropIn.after, dropIn.path).root;
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), r.path('etc/containerd/certs.d'));
    assert.deepEqual(plan.changes.filter((c) => c.role === 'hosts').map((c) => c.path).sort(), [
      r.path('etc/containerd/certs.d/docker.io/hosts.toml'),
      r.path('etc/containerd/certs.d/registry.k8s.io/hosts.toml'),
    ]);
    const main = plan.changes.find((c) => c.role === 'main-config')!;
    assert.equal(main.path, r.path('etc/containerd/config.toml'));
    assert.deepEqual(parseToml(main.after).root.imports, [r.path('etc/containerd/conf.d/airgap.toml')]);
  });
});

test('containerd 2.1 without hostsDir: config_path set to /etc/containerd/certs.d', async () => {
  await withRoot({}, async (r) => {
    const node = new KubeadmNode({ configPath: r.path('etc/containerd/config.toml') });
    const plan = await node.planConfig({ ...REQ, containerdVersion: '2.1.4' });
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    assert.equal(getPath(parseToml(dropIn.after).root, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), DEFAULT_HOSTS_DIR);
  });
});

test('containerd 1.7: a version 2 config defining the CRI table is edited in place; a re-plan changes nothing', async () => {
  const config = `version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.8"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
`;
  await withRoot({ 'etc/containerd/config.toml': config }, async (r) => {
    const node = new KubeadmNode({ configPath: r.path('etc/containerd/config.toml'), hostsDir: r.path('etc/containerd/certs.d') });
    const plan = await node.planConfig({ ...REQ, containerdVersion: '1.7.27' });
    assert.deepEqual(plan.errors, []);
    assert.ok(!plan.changes.some((c) => c.role === 'drop-in'), plan.changes.map((c) => c.path).join('\n'));
    const main = plan.changes.find((c) => c.role === 'main-config')!;
    assert.equal(main.kind, 'update');
    const doc = parseToml(main.after).root;
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image']), PAUSE);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri', 'registry', 'config_path']), r.path('etc/containerd/certs.d'));
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'runc', 'options', 'SystemdCgroup']), true);
    assert.equal(plan.restart.needed, true);
    assert.equal(plan.restart.command, 'systemctl restart containerd');
    await applyFileChanges(plan.changes);
    const again = await node.planConfig({ ...REQ, containerdVersion: '1.7.27' });
    assert.deepEqual(again.changes, []);
    assert.equal(again.restart.needed, false);
  });
});
