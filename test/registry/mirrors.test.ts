import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistryClient } from '../../src/registry/client.js';
import { parseInsecure, parseMirror, parseMirrors, parseRegistryHost, resolveEndpoint } from '../../src/registry/mirrors.js';

test('a mirror URL path is a repository prefix', () => {
  const m = parseMirror('registry.k8s.io=http://127.0.0.1:5000/registry.k8s.io');
  assert.deepEqual(m, { source: 'registry.k8s.io', origin: 'http://127.0.0.1:5000', prefix: 'registry.k8s.io', display: 'http://127.0.0.1:5000/registry.k8s.io' });
  const ep = resolveEndpoint('registry.k8s.io', 'pause', new Map([[m.source, m]]), new Set());
  assert.equal(ep.origin, 'http://127.0.0.1:5000');
  assert.equal(ep.remoteName, 'registry.k8s.io/pause');
  assert.equal(ep.credentialHost, '127.0.0.1:5000');
});

test('Harbor proxy project shape, trailing slash, containerd-style /v2 prefix, no prefix', () => {
  assert.equal(parseMirror('registry.k8s.io=https://harbor.corp/k8s-proxy/').prefix, 'k8s-proxy');
  assert.equal(parseMirror('registry.k8s.io=http://127.0.0.1:5000/v2/registry.k8s.io').prefix, 'registry.k8s.io');
  const plain = parseMirror('docker.io=https://mirror.corp:8443');
  assert.equal(plain.prefix, '');
  assert.equal(plain.origin, 'https://mirror.corp:8443');
  const ep = resolveEndpoint('docker.io', 'library/nginx', new Map([[plain.source, plain]]), new Set());
  assert.equal(ep.remoteName, 'library/nginx');
});

test('docker.io aliases name the same source', () => {
  for (const src of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/']) {
    assert.equal(parseMirror(`${src}=http://127.0.0.1:5000`).source, 'docker.io', src);
  }
});

test('bad mirror values are usage errors that say what is wrong and never echo a password', () => {
  const cases: Array<[string, RegExp]> = [
    ['registry.k8s.io', /missing "="/],
    ['=http://x', /source registry before "=" is empty/],
    ['registry.k8s.io=', /mirror URL after "=" is empty/],
    ['registry.k8s.io=127.0.0.1:5000', /must start with http:\/\/ or https:\/\//],
    ['not a host=http://x', /is not a registry host/],
    ['registry.k8s.io=http://x/Upper', /path component "Upper"/],
    ['registry.k8s.io=http://x/a?b=c', /query or fragment/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseMirror(input), (e: Error & { code?: string; kind?: string }) => {
      assert.equal(e.code, 'ERR_INVALID_MIRROR');
      assert.equal(e.kind, 'usage');
      assert.match(e.message, re);
      return true;
    }, input);
  }
  assert.throws(() => parseMirror('registry.k8s.io=https://bob:s3cr3t@harbor.corp/p'), (e: Error) => {
    assert.match(e.message, /credentials do not belong in the URL/);
    assert.doesNotMatch(e.message, /s3cr3t/);
    return true;
  });
  assert.throws(() => parseMirrors(['registry.k8s.io=http://a', 'registry.k8s.io=http://b']), /already given \(http:\/\/a\)/);
});

test('endpoints: docker.io goes to registry-1, others to https unless insecure', () => {
  const none = new Map();
  const hub = resolveEndpoint('docker.io', 'library/nginx', none, new Set());
  assert.equal(hub.origin, 'https://registry-1.docker.io');
  assert.equal(hub.credentialHost, 'docker.io');
  const k8s = resolveEndpoint('registry.k8s.io', 'pause', none, new Set());
  assert.equal(k8s.origin, 'https://registry.k8s.io');
  assert.equal(k8s.insecure, false);
  const insecure = parseInsecure(['http://10.0.0.1:5000/', 'lab.local']);
  const a = resolveEndpoint('10.0.0.1:5000', 'x', none, insecure);
  assert.equal(a.insecure, true);
  assert.equal(a.probeScheme, true);
  assert.equal(resolveEndpoint('lab.local:443', 'x', none, insecure).insecure, true, 'a bare host covers every port');
  assert.equal(resolveEndpoint('10.0.0.1:5001', 'x', none, insecure).insecure, false);
  assert.throws(() => parseInsecure(['not a host']), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_REGISTRY_HOST');
});

test('registry host parsing forgives schemes and slashes', () => {
  assert.equal(parseRegistryHost('https://Harbor.Corp:8443/'), 'harbor.corp:8443');
  assert.equal(parseRegistryHost('[::1]:5000'), '[::1]:5000');
  assert.equal(parseRegistryHost('a b'), undefined);
  assert.equal(parseRegistryHost('host:99999'), undefined);
});

test('a repository from the client shows its logical name, source URL and description', async () => {
  const client = new RegistryClient({ mirrors: ['registry.k8s.io=http://127.0.0.1:5000/registry.k8s.io', 'docker.io=https://harbor.corp/hub-proxy'] });
  try {
    const r = client.repository('registry.k8s.io/pause:3.9');
    assert.equal(r.name, 'registry.k8s.io/pause');
    assert.equal(r.source, 'http://127.0.0.1:5000/v2/registry.k8s.io/pause');
    assert.equal(r.description, 'registry.k8s.io/pause (via http://127.0.0.1:5000/registry.k8s.io)');
    const hub = client.repository('nginx');
    assert.equal(hub.name, 'docker.io/library/nginx');
    assert.equal(hub.source, 'https://harbor.corp/v2/hub-proxy/library/nginx');
    const direct = client.repository('quay.io/coreos/etcd:v3.5.0');
    assert.equal(direct.source, 'https://quay.io/v2/coreos/etcd');
    assert.equal(direct.description, 'quay.io/coreos/etcd');
  } finally {
    await client.close();
  }
});
