import assert from 'node:assert/strict';
import { test } from 'node:test';
import { destinationName, mirrorSpecs, parseRegistryUrl, registryNamespace } from '../../src/load/registry-url.js';
import { parseMirror } from '../../src/registry/mirrors.js';

test('--registry: scheme, host, prefix; loopback without a scheme is plain http, others https', () => {
  assert.deepEqual(parseRegistryUrl('http://127.0.0.1:5000'), {
    origin: 'http://127.0.0.1:5000', host: '127.0.0.1:5000', prefix: '', url: 'http://127.0.0.1:5000', explicitScheme: true,
  });
  const p = parseRegistryUrl('https://Registry.Local:5000/k8s/mirror/');
  assert.equal(p.origin, 'https://registry.local:5000');
  assert.equal(p.prefix, 'k8s/mirror');
  assert.equal(p.url, 'https://registry.local:5000/k8s/mirror');
  assert.equal(parseRegistryUrl('127.0.0.1:5000').origin, 'http://127.0.0.1:5000');
  assert.equal(parseRegistryUrl('localhost:5000/x').origin, 'http://localhost:5000');
  assert.equal(parseRegistryUrl('registry.local:5000').origin, 'https://registry.local:5000');
  // a pasted API URL: /v2 is the API root, not a prefix
  assert.equal(parseRegistryUrl('http://127.0.0.1:5000/v2/').prefix, '');
});

test('--registry: refuses what is not a registry URL, without echoing credentials', () => {
  for (const bad of ['', 'ftp://host', 'http://host:5000/UPPER', 'http://host/?x=1', 'http://a b']) {
    assert.throws(() => parseRegistryUrl(bad), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_REGISTRY_URL', bad);
  }
  assert.throws(() => parseRegistryUrl('http://admin:hunter2@host:5000'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_INVALID_REGISTRY_URL');
    assert.doesNotMatch(e.message, /hunter2/);
    return true;
  });
});

test('source registries become repository path components (a port\'s ":" is not allowed in one)', () => {
  assert.equal(registryNamespace('registry.k8s.io'), 'registry.k8s.io');
  assert.equal(registryNamespace('docker.io'), 'docker.io');
  assert.equal(registryNamespace('localhost:5000'), 'localhost_5000');
  assert.equal(registryNamespace('[::1]:5000'), '1_5000');
});

test('each source registry maps to its place in the node registry, as a mirror the client accepts', () => {
  const reg = parseRegistryUrl('http://127.0.0.1:5000/prefix');
  const specs = mirrorSpecs(reg, ['registry.k8s.io', 'docker.io', 'registry.k8s.io', 'localhost:5001']);
  assert.deepEqual(specs, [
    'registry.k8s.io=http://127.0.0.1:5000/prefix/registry.k8s.io',
    'docker.io=http://127.0.0.1:5000/prefix/docker.io',
    'localhost:5001=http://127.0.0.1:5000/prefix/localhost_5001',
  ]);
  for (const s of specs) assert.equal(parseMirror(s).origin, 'http://127.0.0.1:5000');
  assert.equal(destinationName(reg, 'registry.k8s.io', 'pause', '3.9'), '127.0.0.1:5000/prefix/registry.k8s.io/pause:3.9');
  assert.equal(destinationName(parseRegistryUrl('http://127.0.0.1:5000'), 'docker.io', 'library/nginx', 'sha256:' + 'a'.repeat(64)),
    `127.0.0.1:5000/docker.io/library/nginx@sha256:${'a'.repeat(64)}`);
});

test('the flat layout (Sealos image-cri-shim): images under their repository alone, a prefix kept', () => {
  const flat = { ...parseRegistryUrl('http://sealos.hub:5000'), flat: true };
  assert.equal(destinationName(flat, 'registry.k8s.io', 'pause', '3.9'), 'sealos.hub:5000/pause:3.9');
  assert.equal(destinationName(flat, 'docker.io', 'library/nginx', '1.27'), 'sealos.hub:5000/library/nginx:1.27');
  assert.deepEqual(mirrorSpecs(flat, ['registry.k8s.io', 'docker.io']), ['registry.k8s.io=http://sealos.hub:5000', 'docker.io=http://sealos.hub:5000']);
  const prefixed = { ...parseRegistryUrl('http://sealos.hub:5000/k8s'), flat: true };
  assert.equal(destinationName(prefixed, 'registry.k8s.io', 'pause', '3.9'), 'sealos.hub:5000/k8s/pause:3.9');
  // the default layout is unchanged
  assert.equal(destinationName(parseRegistryUrl('http://sealos.hub:5000'), 'registry.k8s.io', 'pause', '3.9'), 'sealos.hub:5000/registry.k8s.io/pause:3.9');
});
