/** A k3s / RKE2 node on a fake root: mirrors go to registries.yaml only, never containerd's generated files. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { applyFileChanges } from '../../../src/node/file-change.js';
import { K3sNode } from '../../../src/node/k3s/node.js';
import type { NodeConfigRequest } from '../../../src/node/node.js';
import { nodeFor } from '../../../src/node/resolve.js';
import { withRoot } from '../fake-root.js';

const REQ: NodeConfigRequest = { registries: ['registry.k8s.io', 'docker.io'], mirror: { url: 'http://127.0.0.1:5000' } };
type Parsed = { mirrors: Record<string, { endpoint: string[] }>; configs?: Record<string, { tls?: Record<string, unknown> }> };

test('k3s: exactly one change, registries.yaml, with one endpoint per bundle registry', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': 'write-kubeconfig-mode: "0644"\n' }, async (r) => {
    const node = new K3sNode('k3s', { root: r.dir });
    const plan = await node.planConfig(REQ);
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.distribution, 'k3s');
    assert.equal(plan.changes.length, 1);
    const c = plan.changes[0]!;
    assert.equal(c.path, r.path('etc/rancher/k3s/registries.yaml'));
    assert.equal(c.role, 'registries');
    assert.equal(c.kind, 'create');
    const y = parse(c.after) as Parsed;
    assert.deepEqual(y.mirrors, {
      'docker.io': { endpoint: ['http://127.0.0.1:5000/v2/docker.io'] },
      'registry.k8s.io': { endpoint: ['http://127.0.0.1:5000/v2/registry.k8s.io'] },
    });
    assert.equal(plan.hostsDir, r.path('var/lib/rancher/k3s/agent/etc/containerd/certs.d'));
    assert.equal(plan.restart.needed, true);
    assert.match(plan.restart.command, /\bk3s\b/);
    assert.equal(plan.restart.what, 'k3s');
  });
});

test("k3s: nothing planned under /etc/containerd or k3s's generated containerd directory", async () => {
  await withRoot({ 'etc/containerd/config.toml': 'version = 2\n', 'var/lib/rancher/k3s/agent/etc/containerd/config.toml': 'version = 2\n' }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, sandboxImage: 'registry.k8s.io/pause:3.9' });
    assert.ok(plan.changes.length > 0);
    for (const c of plan.changes) {
      assert.ok(!c.path.startsWith(r.path('etc/containerd')), c.path);
      assert.ok(!c.path.startsWith(r.path('var/lib/rancher')), c.path);
      assert.ok(c.path.startsWith(r.path('etc/rancher/k3s/')), c.path);
    }
  });
});

test('a path prefix goes into every endpoint', async () => {
  await withRoot({}, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, mirror: { url: 'http://127.0.0.1:5000/', pathPrefix: 'mirror' } });
    const y = parse(plan.changes[0]!.after) as Parsed;
    assert.deepEqual(y.mirrors['registry.k8s.io']!.endpoint, ['http://127.0.0.1:5000/v2/mirror/registry.k8s.io']);
    assert.deepEqual(y.mirrors['docker.io']!.endpoint, ['http://127.0.0.1:5000/v2/mirror/docker.io']);
  });
});

test('an https mirror with a CA: its host gets configs.tls in registries.yaml', async () => {
  await withRoot({}, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, mirror: { url: 'https://reg.local:5443', caFile: '/etc/airgap/ca.pem' } });
    const y = parse(plan.changes[0]!.after) as Parsed;
    assert.deepEqual(y.configs, { 'reg.local:5443': { tls: { ca_file: '/etc/airgap/ca.pem' } } });
  });
});

test('restart: k3s-agent when only its unit exists; k3s when the server unit exists', async () => {
  await withRoot({ 'etc/systemd/system/k3s-agent.service': '[Unit]\n' }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    assert.equal(plan.restart.command, 'systemctl restart k3s-agent');
  });
  await withRoot({ 'etc/systemd/system/k3s.service': '[Unit]\n', 'etc/systemd/system/k3s-agent.service': '' }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    assert.equal(plan.restart.command, 'systemctl restart k3s');
  });
});

test('a second plan after writing the file: no changes, no restart', async () => {
  await withRoot({}, async (r) => {
    const node = new K3sNode('k3s', { root: r.dir });
    const first = await node.planConfig(REQ);
    await applyFileChanges(first.changes);
    const written = await r.read('etc/rancher/k3s/registries.yaml');
    assert.equal(written, first.changes[0]!.after);
    const second = await node.planConfig(REQ);
    assert.deepEqual(second.changes, []);
    assert.deepEqual(second.unchanged, [r.path('etc/rancher/k3s/registries.yaml')]);
    assert.equal(second.restart.needed, false);
    assert.deepEqual(second.restart.reasons, []);
  });
});

test("a user's registries.yaml is merged, not replaced", async () => {
  const user = '# mine\nmirrors:\n  quay.io:\n    endpoint:\n      - https://quay-cache.corp\n';
  await withRoot({ 'etc/rancher/k3s/registries.yaml': user }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    const c = plan.changes[0]!;
    assert.equal(c.kind, 'update');
    assert.equal(c.before, user);
    assert.ok(c.after.startsWith('# mine\n'));
    const y = parse(c.after) as Parsed;
    assert.deepEqual(Object.keys(y.mirrors), ['quay.io', 'docker.io', 'registry.k8s.io']);
  });
});

test('pause-image in config.yaml differing from the bundle pause: a warning naming pause-image and config.yaml', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': 'pause-image: docker.io/rancher/mirrored-pause:3.6\n' }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, sandboxImage: 'registry.k8s.io/pause:3.9' });
    const w = plan.warnings.find((x) => x.includes('pause-image'));
    assert.ok(w, plan.warnings.join('\n'));
    assert.ok(w.includes(r.path('etc/rancher/k3s/config.yaml')), w);
    assert.ok(w.includes('registry.k8s.io/pause:3.9'), w);
    assert.equal(plan.sandboxImage, 'docker.io/rancher/mirrored-pause:3.6');
  });
});

test('pause-image equal to the bundle pause: no warning', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': 'pause-image: registry.k8s.io/pause:3.9\n' }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, sandboxImage: 'registry.k8s.io/pause:3.9' });
    assert.ok(!plan.warnings.some((x) => x.includes('pause-image')), plan.warnings.join('\n'));
  });
});

test('a config.yaml.d drop-in wins over config.yaml for pause-image', async () => {
  await withRoot({
    'etc/rancher/k3s/config.yaml': 'pause-image: registry.k8s.io/pause:3.9\n',
    'etc/rancher/k3s/config.yaml.d/50-pause.yaml': 'pause-image: docker.io/rancher/mirrored-pause:3.6\n',
  }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig({ ...REQ, sandboxImage: 'registry.k8s.io/pause:3.9' });
    assert.ok(plan.warnings.some((x) => x.includes('pause-image') && x.includes('50-pause.yaml')), plan.warnings.join('\n'));
  });
});

test('a registries.yaml with "*": a warning, and "*" stays the user\'s', async () => {
  const user = 'mirrors:\n  "*":\n    endpoint:\n      - http://cache.corp:5000\n';
  await withRoot({ 'etc/rancher/k3s/registries.yaml': user }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    assert.ok(plan.warnings.some((w) => w.includes('"*"')), plan.warnings.join('\n'));
    const y = parse(plan.changes[0]!.after) as Parsed;
    assert.deepEqual(y.mirrors['*']!.endpoint, ['http://cache.corp:5000']);
    assert.deepEqual(y.mirrors['docker.io']!.endpoint, ['http://127.0.0.1:5000/v2/docker.io']);
  });
  await withRoot({}, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    assert.ok(!plan.warnings.some((w) => w.includes('"*"')), plan.warnings.join('\n'));
  });
});

test('a rewrite on a bundle registry: a plan error, so applyNodePlan refuses it', async () => {
  const user = 'mirrors:\n  docker.io:\n    endpoint: ["https://hub.corp"]\n    rewrite:\n      "(.*)": "x/$1"\n';
  await withRoot({ 'etc/rancher/k3s/registries.yaml': user }, async (r) => {
    const plan = await new K3sNode('k3s', { root: r.dir }).planConfig(REQ);
    assert.deepEqual(plan.errors.map((e) => e.code), ['ERR_NODE_CONFIG_LAYOUT']);
  });
});

test('rke2: /etc/rancher/rke2/registries.yaml and rke2-server', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': '', 'usr/local/lib/systemd/system/rke2-server.service': '[Unit]\n' }, async (r) => {
    const node = nodeFor('rke2', { root: r.dir });
    assert.equal(node.distribution, 'rke2');
    const plan = await node.planConfig(REQ);
    assert.equal(plan.distribution, 'rke2');
    assert.deepEqual(plan.changes.map((c) => c.path), [r.path('etc/rancher/rke2/registries.yaml')]);
    assert.match(plan.restart.command, /rke2-server/);
    assert.equal(plan.hostsDir, r.path('var/lib/rancher/rke2/agent/etc/containerd/certs.d'));
    assert.equal(node.containerdConfig, r.path('var/lib/rancher/rke2/agent/etc/containerd/config.toml'));
  });
  await withRoot({}, async (r) => {
    const plan = await new K3sNode('rke2', { root: r.dir }).planConfig(REQ);
    assert.match(plan.restart.command, /rke2-server/);
  });
});
