/** image-cri-shim's configuration as Sealos writes it, and how doctor recognises a Sealos node. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPublicRegistry } from '../../../src/node/sealos/checks.js';
import { DEFAULT_SHIM_SOCKET, isShimEndpoint, parseShimAuth, parseShimConfig, readShimConfig, registryBaseUrl, registryHost } from '../../../src/node/sealos/shim.js';
import { makeTempDir } from '../../helpers/make-bundle.js';

const SEALOS = `shim: /var/run/image-cri-shim.sock
cri: /run/containerd/containerd.sock
address: http://sealos.hub:5000
force: true
debug: false
timeout: 15m
auth: admin:passw0rd
registries:
  - address: http://172.16.0.2:5000
    auth: user1:pa:ss
  - address: docker.io
  - auth: nobody:x
`;

test('the file Sealos writes: shim and cri sockets, the registry with its credentials, further registries', () => {
  const c = parseShimConfig(SEALOS, '/etc/image-cri-shim.yaml');
  assert.equal(c.shim, '/var/run/image-cri-shim.sock');
  assert.equal(c.cri, '/run/containerd/containerd.sock');
  assert.deepEqual(c.registry, { address: 'http://sealos.hub:5000', auth: { username: 'admin', password: 'passw0rd' } });
  assert.deepEqual(c.registries, [
    { address: 'http://172.16.0.2:5000', auth: { username: 'user1', password: 'pa:ss' } },
    { address: 'docker.io' },
  ], 'an entry without address is dropped; a password may hold ":"');
});

test('defaults: no shim key means /var/run/image-cri-shim.sock; an empty file is an empty config', () => {
  assert.equal(parseShimConfig('address: sealos.hub:5000\n', 'f').shim, DEFAULT_SHIM_SOCKET);
  assert.deepEqual(parseShimConfig('', 'f'), { file: 'f', shim: DEFAULT_SHIM_SOCKET, registries: [] });
  assert.equal(parseShimConfig('address: sealos.hub:5000\n', 'f').registry?.auth, undefined);
  assert.deepEqual(parseShimAuth('admin'), { username: 'admin', password: '' });
  assert.equal(parseShimAuth(''), undefined);
});

test('not YAML, or not a mapping: an error, never a half-read config', () => {
  assert.throws(() => parseShimConfig('- a\n- b\n', 'f'), /not a YAML mapping/);
  assert.throws(() => parseShimConfig('address: [unclosed\n', 'f'));
});

test('readShimConfig: absent file is "not found"; a broken one says why', async () => {
  const { dir, cleanup } = await makeTempDir('airgap-shim-');
  try {
    assert.deepEqual(await readShimConfig(join(dir, 'none.yaml')), { file: join(dir, 'none.yaml'), found: false });
    await writeFile(join(dir, 'bad.yaml'), 'shim: [\n');
    const bad = await readShimConfig(join(dir, 'bad.yaml'));
    assert.ok('error' in bad && bad.found);
    await writeFile(join(dir, 'ok.yaml'), SEALOS);
    const ok = await readShimConfig(join(dir, 'ok.yaml'));
    assert.ok('config' in ok);
    assert.equal(ok.config.registry?.address, 'http://sealos.hub:5000');
  } finally {
    await cleanup();
  }
});

test('registry addresses as the shim takes them: a bare host:port is https; never credentials in the URL', () => {
  assert.equal(registryBaseUrl('http://sealos.hub:5000'), 'http://sealos.hub:5000');
  assert.equal(registryBaseUrl('http://sealos.hub:5000/'), 'http://sealos.hub:5000');
  assert.equal(registryBaseUrl('sealos.hub:5000'), 'https://sealos.hub:5000');
  assert.equal(registryBaseUrl('http://admin:secret@sealos.hub:5000'), 'http://sealos.hub:5000');
  assert.equal(registryHost('http://sealos.hub:5000'), 'sealos.hub:5000');
});

test('kubelet\'s image endpoint is the shim\'s: its configured socket (/var/run = /run), or a socket named image-cri-shim', () => {
  assert.equal(isShimEndpoint('unix:///var/run/image-cri-shim.sock'), true);
  assert.equal(isShimEndpoint('unix:///run/image-cri-shim.sock'), true);
  assert.equal(isShimEndpoint('/tmp/x/image-cri-shim.sock'), true);
  assert.equal(isShimEndpoint('unix:///tmp/other.sock', '/tmp/other.sock'), true);
  assert.equal(isShimEndpoint('unix:///run/containerd/containerd.sock'), false);
  assert.equal(isShimEndpoint(undefined), false);
});

test('public registries: kubeadm\'s defaults and the usual sources, not the node\'s', () => {
  for (const r of ['registry.k8s.io', 'k8s.gcr.io', 'docker.io', 'quay.io', 'ghcr.io', 'registry.cn-hangzhou.aliyuncs.com']) assert.equal(isPublicRegistry(r), true, r);
  for (const r of ['sealos.hub:5000', '127.0.0.1:5000', 'registry.local']) assert.equal(isPublicRegistry(r), false, r);
});
