import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { FakeRegistry, sha256 } from './fake-registry.js';
import { readStream, testClient, visible } from './helpers.js';
import { MediaType } from '../../src/oci/media-type.js';
import { Readable } from 'node:stream';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { Digest } from '../../src/oci/digest.js';

const PASSWORD = 'Sup3r-s3cret:pw';

function seed(reg: FakeRegistry): { manifest: Descriptor; layers: Descriptor[] } {
  const layers = ['layer-a', 'layer-b', 'layer-c'].map((s) => {
    const b = reg.addBlob(s);
    return { mediaType: MediaType.OciLayerGzip, digest: b.digest as Digest, size: b.size };
  });
  const cfg = reg.addBlob('{}');
  const doc = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size },
    layers,
  });
  const m = reg.addManifest('team/app', 'v1', doc, MediaType.OciManifest);
  return { manifest: { mediaType: MediaType.OciManifest, digest: m.digest as Digest, size: m.size }, layers };
}

test('Basic: the first 401 teaches the scheme, later requests authenticate up front', async () => {
  const reg = await new FakeRegistry({ auth: 'basic', username: 'alice', password: PASSWORD }).start();
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=alice:${PASSWORD}`] });
  try {
    const { manifest, layers } = seed(reg);
    const repo = client.repository(`fake.test/team/app`);
    assert.deepEqual(await repo.resolve('v1'), manifest);
    for (const l of layers) assert.equal((await readStream(await repo.fetch(l))).toString(), ['layer-a', 'layer-b', 'layer-c'][layers.indexOf(l)]);
    const unauth = reg.log.filter((r) => !r.headers.authorization);
    assert.equal(unauth.length, 1, 'only the very first request goes without credentials');
    assert.ok(reg.log.slice(1).every((r) => r.headers.authorization?.startsWith('Basic ')));
    assert.ok(events.some((e) => e.type === 'auth' && e.scheme === 'basic'));
    assert.doesNotMatch(JSON.stringify(events), /Sup3r|YWxp/);
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('Basic: missing or wrong credentials are auth errors with a --creds hint and no secret', async () => {
  const reg = await new FakeRegistry({ auth: 'basic', username: 'alice', password: PASSWORD }).start();
  seed(reg);
  const anon = testClient({ mirrors: [`fake.test=${reg.url}`] });
  const wrong = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=alice:wrong-${PASSWORD}`] });
  try {
    await assert.rejects(anon.client.repository(`fake.test/team/app`).resolve('v1'), (e: Error & { code?: string; kind?: string; hint?: string }) => {
      assert.equal(e.kind, 'auth');
      assert.equal(e.code, 'ERR_REGISTRY_UNAUTHORIZED');
      assert.match(e.message, /requires a username and password/);
      assert.match(e.hint ?? '', new RegExp(`--creds ${reg.host}=USER:PASSWORD`));
      return true;
    });
    await assert.rejects(wrong.client.repository(`fake.test/team/app`).resolve('v1'), (e: Error & { code?: string; kind?: string }) => {
      assert.equal(e.kind, 'auth');
      assert.match(e.message, /refused the credentials from --creds/);
      assert.doesNotMatch(visible(e), /Sup3r|wrong-|YWxp/);
      return true;
    });
  } finally {
    await anon.client.close();
    await wrong.client.close();
    await reg.stop();
  }
});

test('Bearer: one token per scope, shared by parallel requests, sent only to the registry', async () => {
  const reg = await new FakeRegistry({ auth: 'bearer' }).start();
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`] });
  try {
    const { manifest, layers } = seed(reg);
    const repo = client.repository(`fake.test/team/app`);
    const fetched = await repo.fetchManifest('v1');
    assert.equal(fetched.descriptor.digest, manifest.digest);
    await Promise.all(layers.map(async (l) => readStream(await repo.fetch(l))));
    assert.equal(reg.tokenRequests.length, 1, 'one anonymous pull token serves the manifest and every layer');
    const tq = new URL(reg.tokenRequests[0]!.url, reg.url);
    assert.equal(tq.searchParams.get('service'), 'fake-registry');
    assert.deepEqual(tq.searchParams.getAll('scope'), ['repository:team/app:pull']);
    assert.equal(reg.tokenRequests[0]!.authorization, undefined, 'anonymous token request');

    // Push needs pull,push: a second token, then both stay cached.
    const blob = Buffer.from('pushed layer');
    await repo.push({ mediaType: MediaType.OciLayerGzip, digest: sha256(blob) as Digest, size: blob.byteLength }, Readable.from([blob]));
    assert.equal(reg.tokenRequests.length, 2);
    assert.deepEqual(new URL(reg.tokenRequests[1]!.url, reg.url).searchParams.getAll('scope'), ['repository:team/app:pull,push']);
    await repo.exists(layers[0]!);
    await repo.push({ mediaType: MediaType.OciLayerGzip, digest: sha256('x') as Digest, size: 1 }, Readable.from([Buffer.from('x')]));
    assert.equal(reg.tokenRequests.length, 2, 'cached per scope');
    assert.equal(client.tokenRequests, 2);

    // Another repository is another scope.
    reg.addManifest('team/other', 'v1', reg.manifests.get('team/app')!.get('v1')!.bytes, MediaType.OciManifest);
    await client.repository(`fake.test/team/other`).resolve('v1');
    assert.equal(reg.tokenRequests.length, 3);
    assert.ok(events.filter((e) => e.type === 'auth').every((e) => e.type === 'auth' && e.anonymous));
    const tokens = [...reg.tokens.keys()];
    assert.ok(!tokens.some((t) => JSON.stringify(events).includes(t)), 'tokens never appear in events');
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('Bearer: a token the registry stops accepting is refreshed once, then it is an auth error', async () => {
  const reg = await new FakeRegistry({ auth: 'bearer', username: 'bob', password: PASSWORD }).start();
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=bob:${PASSWORD}`] });
  try {
    const { manifest } = seed(reg);
    const repo = client.repository(`fake.test/team/app`);
    await repo.resolve('v1');
    assert.equal(reg.tokenRequests.length, 1);
    assert.equal(reg.tokenRequests[0]!.authorization, `Basic ${Buffer.from(`bob:${PASSWORD}`).toString('base64')}`, 'credentials go to the token realm');
    assert.ok(reg.log.filter((r) => r.url.startsWith('/v2/')).every((r) => !r.headers.authorization?.startsWith('Basic')), 'the registry only ever sees the bearer token');

    reg.tokens.clear(); // the registry revokes every token
    assert.deepEqual(await repo.resolve('v1'), manifest);
    assert.equal(reg.tokenRequests.length, 2, 'refreshed once');

    // A registry that rejects every token: one refresh, then a clear auth error.
    reg.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/team/app/')) return false;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${reg.url}/token",service="fake-registry",scope="repository:team/app:pull"`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token revoked' }] }));
      return true;
    });
    const before = reg.tokenRequests.length;
    await assert.rejects(repo.resolve('v1'), (e: Error & { kind?: string; code?: string }) => {
      assert.equal(e.kind, 'auth');
      assert.equal(e.code, 'ERR_REGISTRY_UNAUTHORIZED');
      assert.doesNotMatch(visible(e), /Sup3r|Ym9i|Bearer [0-9a-f]{24}/);
      return true;
    });
    assert.equal(reg.tokenRequests.length, before + 1, 'exactly one refresh before giving up');
    assert.doesNotMatch(JSON.stringify(events), /Sup3r/);
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('Bearer: the token server refusing credentials is an auth error naming it, not the password', async () => {
  const reg = await new FakeRegistry({ auth: 'bearer', username: 'bob', password: PASSWORD }).start();
  const { client } = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=bob:not-${PASSWORD}`] });
  try {
    seed(reg);
    await assert.rejects(client.repository(`fake.test/team/app`).resolve('v1'), (e: Error & { kind?: string }) => {
      assert.equal(e.kind, 'auth');
      assert.match(e.message, new RegExp(`token server http://${reg.host}/token refused the credentials from --creds`));
      assert.doesNotMatch(visible(e), /Sup3r|not-/);
      return true;
    });
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('Bearer: access_token field and expires_in are honoured', async () => {
  const reg = await new FakeRegistry({ auth: 'bearer', accessTokenField: true, tokenExpiresIn: 1 }).start();
  const { client } = testClient({ mirrors: [`fake.test=${reg.url}`] });
  try {
    seed(reg);
    const repo = client.repository(`fake.test/team/app`);
    await repo.resolve('v1');
    await repo.resolve('v1');
    assert.equal(reg.tokenRequests.length, 1);
    await sleep(1000);
    await repo.resolve('v1');
    assert.equal(reg.tokenRequests.length, 2, 'an expired token is renewed before use');
    assert.equal(reg.requests('HEAD', '/manifests/v1').filter((r) => !r.headers.authorization).length, 1, 'no 401 round trip for the renewal');
  } finally {
    await client.close();
    await reg.stop();
  }
});

test('Bearer: an identity token from docker login is exchanged with the OAuth2 refresh-token grant', async () => {
  const reg = await new FakeRegistry({ auth: 'bearer', refreshToken: 'idtok-Secret-42' }).start();
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'airgap-idtok-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { identitytoken: 'idtok-Secret-42' } } }));
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], dockerConfig: join(dir, 'config.json') });
  try {
    const { manifest } = seed(reg);
    assert.deepEqual(await client.repository('fake.test/team/app').resolve('v1'), manifest);
    assert.equal(reg.tokenRequests.length, 1);
    const tr = reg.tokenRequests[0]!;
    assert.equal(tr.method, 'POST');
    const form = new URLSearchParams(tr.form);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('service'), 'fake-registry');
    assert.equal(form.get('scope'), 'repository:team/app:pull');
    assert.doesNotMatch(JSON.stringify(events), /idtok-Secret/);
  } finally {
    await client.close();
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('credentials are not sent in cleartext to a token realm the user did not choose', async () => {
  const reg = await new FakeRegistry().start();
  const port = reg.host.split(':')[1];
  reg.hooks.push((_req, res) => {
    // An https-less realm on another host (an IPv4-mapped loopback address, so nothing leaves the machine).
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://[::ffff:127.0.0.1]:${port}/token",service="x"` }).end();
    return true;
  });
  const { client } = testClient({ mirrors: [`fake.test=${reg.url}`], credentials: [`${reg.host}=bob:${PASSWORD}`] });
  try {
    await assert.rejects(client.repository('fake.test/team/app').resolve('v1'), (e: Error & { kind?: string; hint?: string }) => {
      assert.equal(e.kind, 'auth');
      assert.match(e.message, /refusing to send the credentials for 127\.0\.0\.1:\d+ over plain HTTP/);
      assert.match(e.hint ?? '', /--insecure-registry/);
      return true;
    });
    assert.equal(reg.tokenRequests.length, 0);
    assert.equal(reg.log.filter((r) => r.url.startsWith('/token')).length, 0);
  } finally {
    await client.close();
    await reg.stop();
  }
});
