/** Which kind of node a root looks like: specific files, directories and sockets are evidence; empty mount points are not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectNode, parseDistributionFlag } from '../../src/node/detect.js';
import { NodeConfigError } from '../../src/node/errors.js';
import { resolveNode } from '../../src/node/resolve.js';
import { withRoot } from './fake-root.js';

const K3S_SOCKET = 'run/k3s/containerd/containerd.sock';

test('an empty root is a kubeadm node, by default', async () => {
  await withRoot({}, async (r) => {
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'kubeadm');
    assert.equal(d.source, 'default');
    assert.equal(d.evidence.length, 1);
  });
});

test('/etc/rancher/k3s/config.yaml makes it k3s, and the file is named in the evidence', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': 'write-kubeconfig-mode: "0644"\n' }, async (r) => {
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'k3s');
    assert.equal(d.source, 'detected');
    assert.ok(d.evidence.some((e) => e.includes(r.path('etc/rancher/k3s/config.yaml'))), d.evidence.join('\n'));
  });
});

test('RKE2 files make it rke2', async () => {
  await withRoot({ 'etc/rancher/rke2/config.yaml': 'token: x\n', 'usr/local/lib/systemd/system/rke2-server.service': '[Unit]\n' }, async (r) => {
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'rke2');
    assert.equal(d.source, 'detected');
    assert.ok(d.evidence.some((e) => e.includes('rke2-server.service')), d.evidence.join('\n'));
  });
});

test("k0s's /etc/k0s/containerd.d directory makes it k0s", async () => {
  await withRoot({}, async (r) => {
    await r.mkdir('etc/k0s/containerd.d');
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'k0s');
    assert.ok(d.evidence.some((e) => e.includes(r.path('etc/k0s/containerd.d'))), d.evidence.join('\n'));
  });
});

test('/etc/k0s/k0s.yaml makes it k0s', async () => {
  await withRoot({ 'etc/k0s/k0s.yaml': 'apiVersion: k0s.k0sproject.io/v1beta1\n' }, async (r) => {
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'k0s');
    assert.ok(d.evidence.some((e) => e.includes('k0s.yaml')));
  });
});

test('empty /etc/rancher, /etc/rancher/k3s and /etc/k0s directories (mount points) are not evidence', async () => {
  await withRoot({}, async (r) => {
    await r.mkdir('etc/rancher/k3s');
    await r.mkdir('etc/rancher/rke2');
    await r.mkdir('etc/k0s');
    await r.mkdir('var/lib/rancher');
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'kubeadm');
    assert.equal(d.source, 'default');
  });
});

test('only the socket k3s and RKE2 share: an ambiguity error naming both and --distribution', async () => {
  await withRoot({}, async (r) => {
    await r.socket(K3S_SOCKET);
    await assert.rejects(detectNode({ root: r.dir }), (e: unknown) => {
      assert.ok(e instanceof NodeConfigError);
      assert.equal(e.code, 'ERR_NODE_DISTRIBUTION');
      assert.match(e.message, /k3s/);
      assert.match(e.message, /rke2/);
      assert.match(e.hint ?? '', /--distribution k3s/);
      assert.match(e.hint ?? '', /--distribution rke2/);
      return true;
    });
  });
});

test('the shared socket plus /var/lib/rancher/rke2/agent: rke2', async () => {
  await withRoot({}, async (r) => {
    await r.socket(K3S_SOCKET);
    await r.mkdir('var/lib/rancher/rke2/agent');
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'rke2');
    assert.equal(d.source, 'detected');
    assert.ok(d.evidence.some((e) => e.startsWith('socket ')), d.evidence.join('\n'));
    assert.ok(d.evidence.some((e) => e.includes('rke2/agent')), d.evidence.join('\n'));
  });
});

test('the shared socket plus /var/lib/rancher/k3s/agent: k3s', async () => {
  await withRoot({}, async (r) => {
    await r.socket(K3S_SOCKET);
    await r.mkdir('var/lib/rancher/k3s/agent');
    assert.equal((await detectNode({ root: r.dir })).distribution, 'k3s');
  });
});

test('a regular file where the socket should be is not the socket', async () => {
  await withRoot({ [K3S_SOCKET]: '' }, async (r) => {
    const d = await detectNode({ root: r.dir });
    assert.equal(d.distribution, 'kubeadm');
    assert.equal(d.source, 'default');
  });
});

test('distribution given: source "given", whatever the files say', async () => {
  await withRoot({ 'etc/rancher/k3s/config.yaml': '' }, async (r) => {
    const d = await detectNode({ root: r.dir, distribution: 'k0s' });
    assert.equal(d.distribution, 'k0s');
    assert.equal(d.source, 'given');
    assert.ok(d.evidence.includes('--distribution k0s'));
  });
});

test('distribution given also settles the ambiguous shared socket', async () => {
  await withRoot({}, async (r) => {
    await r.socket(K3S_SOCKET);
    const { detection, node } = await resolveNode({ root: r.dir, distribution: 'rke2' });
    assert.equal(detection.source, 'given');
    assert.equal(node.distribution, 'rke2');
    assert.equal(node.containerdSocket, r.path(K3S_SOCKET));
  });
});

test('an unknown --distribution: a usage error listing the choices', async () => {
  await assert.rejects(detectNode({ distribution: 'microk8s', root: '/nonexistent' }), (e: unknown) => {
    assert.ok(e instanceof NodeConfigError);
    assert.equal(e.code, 'ERR_NODE_DISTRIBUTION');
    assert.equal(e.kind, 'usage');
    assert.match(e.message, /microk8s/);
    for (const d of ['auto', 'kubeadm', 'k3s', 'rke2', 'k0s']) assert.match(e.hint ?? '', new RegExp(`\\b${d}\\b`));
    return true;
  });
  assert.equal(parseDistributionFlag(' K3S '), 'k3s');
  assert.equal(parseDistributionFlag(undefined), 'auto');
});
