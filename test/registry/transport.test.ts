import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRegistry, startServer } from './fake-registry.js';
import { bytes, readStream, testClient } from './helpers.js';
import { MediaType } from '../../src/oci/media-type.js';
import type { Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';

function layer(reg: FakeRegistry, data: Buffer): Descriptor {
  const b = reg.addBlob(data);
  return { mediaType: MediaType.OciLayerGzip, digest: b.digest as Digest, size: b.size };
}

test('a blob GET redirected to another host is followed without the registry Authorization', async () => {
  const data = bytes(200_000, 7);
  const storage = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.byteLength }).end(data);
  });
  const reg = await new FakeRegistry({ auth: 'bearer' }).start();
  const desc = layer(reg, data);
  reg.hooks.push((req, res) => {
    if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:') || !req.headers.authorization) return false;
    // like registry.k8s.io / Docker Hub: a presigned storage URL whose query is a secret
    res.writeHead(307, { location: `${storage.url}/data/blob?X-Amz-Signature=topsecretsig&X-Amz-Expires=600` }).end();
    return true;
  });
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`] });
  try {
    const got = await readStream(await client.repository('fake.test/team/app').fetch(desc));
    assert.ok(got.equals(data));
    const blobGets = reg.requests('GET', '/blobs/sha256:');
    assert.ok(blobGets.some((r) => r.headers.authorization?.startsWith('Bearer ')), 'the registry got the token');
    assert.equal(storage.log.length, 1);
    assert.equal(storage.log[0]!.headers.authorization, undefined, 'the storage host never sees the Authorization header');
    assert.match(storage.log[0]!.url, /X-Amz-Signature=topsecretsig/, 'the redirect URL is used as given');
    const redirect = events.find((e) => e.type === 'redirect');
    assert.ok(redirect && redirect.type === 'redirect' && redirect.authorizationDropped);
    assert.doesNotMatch(JSON.stringify(events), /topsecretsig/, 'presigned query strings stay out of events');
  } finally {
    await client.close();
    await reg.stop();
    await storage.stop();
  }
});

test('a same-origin redirect keeps Authorization; a redirect loop ends with a clear error', async () => {
  const reg = await new FakeRegistry({ auth: 'basic', username: 'u', password: 'pw-123456' }).start();
  const desc = layer(reg, Buffer.from('hello'));
  reg.hooks.push((req, res) => {
    if (req.url?.startsWith('/moved/')) {
      res.writeHead(302, { location: `/v2/team/app/blobs/${desc.digest}?moved=1` }).end();
      return true;
    }
    if (req.url === `/v2/team/app/blobs/${desc.digest}` && req.headers.authorization) {
      res.writeHead(301, { location: `/moved/${desc.digest}` }).end();
      return true;
    }
    if (req.url?.startsWith('/loop')) {
      res.writeHead(302, { location: '/loop' }).end();
      return true;
    }
    return false;
  });
  const { client } = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=u:pw-123456`] });
  try {
    const got = await readStream(await client.repository('fake.test/team/app').fetch(desc));
    assert.equal(got.toString(), 'hello');
    assert.ok(reg.requests('GET', '/moved/')[0]!.headers.authorization?.startsWith('Basic '), 'same origin: credentials kept');
    const loopDesc = layer(reg, Buffer.from('loop'));
    reg.hooks.unshift((req, res) => {
      if (req.url === `/v2/team/app/blobs/${loopDesc.digest}`) {
        res.writeHead(302, { location: '/loop' }).end();
        return true;
      }
      return false;
    });
    await assert.rejects(client.repository('fake.test/team/app').fetch(loopDesc), /more than 5 redirects/);
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('503 and 429 are retried; Retry-After is honoured', async () => {
  const reg = await new FakeRegistry().start();
  const desc = layer(reg, Buffer.from('retry me'));
  let n = 0;
  reg.hooks.push((req, res) => {
    if (!req.url?.includes('/blobs/sha256:')) return false;
    n++;
    if (n === 1) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'busy' }] }));
      return true;
    }
    if (n === 2) {
      res.writeHead(429, { 'retry-after': '1' }).end();
      return true;
    }
    return false;
  });
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`] });
  try {
    const t0 = Date.now();
    const got = await readStream(await client.repository('fake.test/team/app').fetch(desc));
    const elapsed = Date.now() - t0;
    assert.equal(got.toString(), 'retry me');
    assert.equal(n, 3);
    const retries = events.filter((e) => e.type === 'retry');
    assert.equal(retries.length, 2);
    assert.ok(retries[0]!.type === 'retry' && retries[0]!.reason === 'HTTP 503 UNAVAILABLE');
    assert.ok(retries[1]!.type === 'retry' && retries[1]!.delayMs === 1000, 'the 429 wait is the Retry-After value');
    assert.ok(elapsed >= 950, `waited ${elapsed} ms for Retry-After: 1`);
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('a registry that keeps failing ends in ERR_REGISTRY_UNAVAILABLE naming attempts and status', async () => {
  const reg = await new FakeRegistry().start();
  reg.hooks.push((_req, res) => {
    res.writeHead(502).end('bad gateway');
    return true;
  });
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], retry: { attempts: 3 } });
  try {
    await assert.rejects(client.repository('fake.test/team/app').resolve('v1'), (e: Error & { code?: string; kind?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'ERR_REGISTRY_UNAVAILABLE');
      assert.equal(e.kind, 'remote');
      assert.match(e.message, /resolve fake\.test\/team\/app:v1 failed after 3 attempts: HTTP 502/);
      assert.equal(e.details?.status, 502);
      return true;
    });
    assert.equal(reg.log.length, 3);
    assert.equal(events.filter((e) => e.type === 'retry').length, 2);
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('connection refused is retried, then reported with the endpoint', async () => {
  const reg = await new FakeRegistry().start();
  const url = reg.url;
  await reg.stop();
  const { client } = testClient({ mirrors: [`fake.test=${url}/prefix`], retry: { attempts: 2 } });
  try {
    await assert.rejects(client.repository('fake.test/x').resolve('1'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_REGISTRY_UNAVAILABLE');
      assert.match(e.message, /failed after 2 attempts: connection refused \(ECONNREFUSED\)/);
      assert.match(e.message, new RegExp(`${url}/v2/prefix/x/manifests/1`));
      return true;
    });
  } finally {
    await client.close();
  }
});

test('TLS to a plain-HTTP server: a TLS error with the --ca-file / --insecure-registry hint; insecure falls back to http', async () => {
  const reg = await new FakeRegistry().start();
  const m = reg.addManifest('x', 'v1', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }), MediaType.OciIndex);
  const strict = testClient({ mirrors: [`fake.test=https://${reg.host}`] });
  const insecure = testClient({ insecure: [reg.host] });
  try {
    await assert.rejects(strict.client.repository('fake.test/x').resolve('v1'), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'ERR_REGISTRY_TLS');
      assert.match(e.message, /does not speak TLS/);
      assert.match(e.hint ?? '', /--ca-file/);
      assert.match(e.hint ?? '', /--insecure-registry/);
      return true;
    });
    assert.equal(reg.log.length, 0);
    const repo = insecure.client.repository(`${reg.host}/x`);
    assert.equal((await repo.resolve('v1')).digest, m.digest);
    assert.equal(repo.source, `http://${reg.host}/v2/x`);
    assert.ok(insecure.events.some((e) => e.type === 'fallback' && e.what === 'https-to-http'));
  } finally {
    await strict.client.close();
    await insecure.client.close();
    await reg.stop();
  }
});

test('bad CA files are refused up front', () => {
  assert.throws(() => testClient({ caFiles: ['/nonexistent/ca.pem'] }), (e: Error & { code?: string }) => e.code === 'ERR_CA_FILE' && /no such file/.test(e.message));
  assert.throws(() => testClient({ caFiles: ['/etc/hostname'] }), /holds no PEM certificate/);
});

test('a redirect target that refuses (expired presigned URL) is a remote error about the storage, not an auth error', async () => {
  const storage = await startServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
  });
  const reg = await new FakeRegistry().start();
  const desc = layer(reg, Buffer.from('expired'));
  reg.hooks.push((req, res) => {
    if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:')) return false;
    res.writeHead(307, { location: `${storage.url}/bucket/blob?Signature=sig-value` }).end();
    return true;
  });
  const { client } = testClient({ mirrors: [`fake.test=${reg.url}`] });
  try {
    await assert.rejects(client.repository('fake.test/team/app').fetch(desc), (e: Error & { kind?: string; code?: string }) => {
      assert.equal(e.kind, 'remote');
      assert.equal(e.code, 'ERR_REGISTRY_RESPONSE');
      assert.match(e.message, new RegExp(`${storage.url}/bucket/blob\\?…, where the registry redirected, answered HTTP 403`));
      assert.doesNotMatch(e.message, /sig-value/);
      return true;
    });
  } finally {
    await client.close();
    await reg.stop();
    await storage.stop();
  }
});
