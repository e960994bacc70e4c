/** A k0s node on a fake root: a drop-in in /etc/k0s/containerd.d and hosts.toml files; containerd.toml never touched. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPath, parseToml } from '../../../src/node/containerd/toml.js';
import { applyFileChanges } from '../../../src/node/file-change.js';
import { K0S_MANAGED_MARKER, K0sNode } from '../../../src/node/k0s/node.js';
import type { NodeConfigRequest } from '../../../src/node/node.js';
import { withRoot } from '../fake-root.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const REQ: NodeConfigRequest = {
  registries: ['registry.k8s.io', 'docker.io'],
  mirror: { url: 'http://127.0.0.1:5000' },
  sandboxImage: PAUSE,
  containerdVersion: '1.7.27',
};

test('containerd 1.7: a version 2 drop-in with the sandbox image and config_path, one hosts.toml per registry', async () => {
  await withRoot({}, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig(REQ);
    assert.deepEqual(plan.errors, []);
    const certs = r.path('etc/k0s/containerd.d/certs.d');
    assert.deepEqual(plan.changes.map((c) => [c.role, c.path]).sort(), [
      ['drop-in', r.path('etc/k0s/containerd.d/airgap.toml')],
      ['hosts', `${certs}/docker.io/hosts.toml`],
      ['hosts', `${certs}/registry.k8s.io/hosts.toml`],
    ]);
    // Hosts files are written before the drop-in that points containerd at them.
    assert.equal(plan.changes[plan.changes.length - 1]!.role, 'drop-in');
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    const doc = parseToml(dropIn.after, dropIn.path).root;
    assert.equal(doc.version, 2);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image']), PAUSE);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri', 'registry', 'config_path']), certs);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images']), undefined);
    const hosts = parseToml(plan.changes.find((c) => c.path.includes('/registry.k8s.io/'))!.after).root;
    assert.equal(hosts.server, 'https://registry.k8s.io');
    assert.deepEqual(getPath(hosts, ['host', 'http://127.0.0.1:5000/v2/registry.k8s.io', 'capabilities']), ['pull', 'resolve']);
    assert.equal(plan.hostsDir, certs);
    assert.equal(plan.sandboxImage, PAUSE);
    assert.equal(plan.restart.needed, true);
    assert.match(plan.restart.command, /k0s/);
  });
});

test('containerd 2.1: a version 3 drop-in with the io.containerd.cri.v1.images keys', async () => {
  await withRoot({}, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig({ ...REQ, containerdVersion: '2.1.4' });
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    const doc = parseToml(dropIn.after, dropIn.path).root;
    assert.equal(doc.version, 3);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), PAUSE);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), r.path('etc/k0s/containerd.d/certs.d'));
    assert.equal(getPath(doc, ['plugins', 'io.containerd.grpc.v1.cri']), undefined);
  });
});

test('/etc/k0s/containerd.toml (k0s managed) is never among the changes, nor edited', async () => {
  const managed = `${K0S_MANAGED_MARKER}\nversion = 2\nimports = ["/run/k0s/containerd-cri.toml"]\n`;
  await withRoot({ 'etc/k0s/containerd.toml': managed }, async (r) => {
    const node = new K0sNode({ root: r.dir });
    const plan = await node.planConfig(REQ);
    assert.deepEqual(plan.errors, []);
    assert.ok(!plan.changes.some((c) => c.path === r.path('etc/k0s/containerd.toml')));
    assert.ok(plan.changes.every((c) => c.path.startsWith(r.path('etc/k0s/containerd.d/'))));
    await applyFileChanges(plan.changes);
    assert.equal(await r.read('etc/k0s/containerd.toml'), managed);
    const again = await node.planConfig(REQ);
    assert.deepEqual(again.changes, []);
    assert.equal(again.restart.needed, false);
  });
});

test('a containerd.toml without the k0s_managed line: ERR_K0S_CONTAINERD_UNMANAGED, hint: move to containerd.d, remove the file', async () => {
  await withRoot({ 'etc/k0s/containerd.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.8"\n' }, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig(REQ);
    assert.equal(plan.errors.length, 1);
    const e = plan.errors[0]!;
    assert.equal(e.code, 'ERR_K0S_CONTAINERD_UNMANAGED');
    assert.ok(e.message.includes(r.path('etc/k0s/containerd.toml')), e.message);
    assert.match(e.hint ?? '', /containerd\.d/);
    assert.match(e.hint ?? '', /remove/);
    assert.ok((e.hint ?? '').includes(r.path('etc/k0s/containerd.toml')), e.hint);
    assert.ok(!plan.changes.some((c) => c.path === r.path('etc/k0s/containerd.toml')));
  });
});

test('a containerd.toml with the marker line: no error', async () => {
  await withRoot({ 'etc/k0s/containerd.toml': `# generated\n  ${K0S_MANAGED_MARKER}\nversion = 2\n` }, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig(REQ);
    assert.deepEqual(plan.errors, []);
  });
});

test('another drop-in after ours setting sandbox_image: a warning that it wins', async () => {
  await withRoot({ 'etc/k0s/containerd.d/zz.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.8"\n' }, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig(REQ);
    const w = plan.warnings.find((x) => x.includes('zz.toml'));
    assert.ok(w, plan.warnings.join('\n'));
    assert.match(w, /sandbox_image/);
    assert.match(w, /wins/);
  });
});

test('a drop-in sorted before ours that sets sandbox_image: mentioned, but it does not win', async () => {
  await withRoot({ 'etc/k0s/containerd.d/10-pause.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.8"\n' }, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig(REQ);
    const w = plan.warnings.find((x) => x.includes('10-pause.toml'));
    assert.ok(w, plan.warnings.join('\n'));
    assert.doesNotMatch(w, /wins/);
  });
});

test('containerd 2.x: a later version 2 drop-in setting sandbox_image also wins (containerd migrates it)', async () => {
  await withRoot({ 'etc/k0s/containerd.d/zz.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.8"\n' }, async (r) => {
    const plan = await new K0sNode({ root: r.dir }).planConfig({ ...REQ, containerdVersion: '2.1.4' });
    assert.ok(plan.warnings.some((x) => x.includes('zz.toml') && /wins/.test(x)), plan.warnings.join('\n'));
  });
});
