import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { FakeRegistry, sha256 } from './fake-registry.js';
import { bytes, readStream, testClient } from './helpers.js';
import { MediaType } from '../../src/oci/media-type.js';
import type { Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { NotFoundError } from '../../src/content/errors.js';
import { nextLink } from '../../src/registry/repository.js';

const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });

async function setup(opts: ConstructorParameters<typeof FakeRegistry>[0] = {}, clientOpts: Parameters<typeof testClient>[0] = {}) {
  const reg = await new FakeRegistry(opts).start();
  const t = testClient({ mirrors: [`fake.test=${reg.url}/mirror`], ...clientOpts });
  const repo = t.client.repository('fake.test/team/app');
  return { reg, repo, ...t, done: async () => { await t.client.close(); await reg.stop(); } };
}

test('resolve uses HEAD alone when it tells digest, type and size', async () => {
  const { reg, repo, done } = await setup();
  try {
    const m = reg.addManifest('mirror/team/app', 'v1', INDEX, MediaType.OciIndex);
    assert.deepEqual(await repo.resolve('v1'), { mediaType: MediaType.OciIndex, digest: m.digest, size: m.size });
    assert.deepEqual(await repo.resolve(m.digest), { mediaType: MediaType.OciIndex, digest: m.digest, size: m.size });
    assert.deepEqual(await repo.resolve('fake.test/team/app:v1'), { mediaType: MediaType.OciIndex, digest: m.digest, size: m.size });
    assert.equal(reg.requests('GET', '/manifests/').length, 0);
    assert.ok(reg.requests('HEAD', '/v2/mirror/team/app/manifests/v1')[0]!.headers.accept?.includes(MediaType.DockerManifestList));
    await assert.rejects(repo.resolve('other.test/x:1'), /does not name repository fake\.test\/team\/app/);
  } finally {
    await done();
  }
});

test('HEAD not allowed: resolve falls back to GET', async () => {
  const { reg, repo, events, done } = await setup({ headNotAllowed: true });
  try {
    const m = reg.addManifest('mirror/team/app', 'v1', INDEX, MediaType.OciIndex);
    assert.deepEqual(await repo.resolve('v1'), { mediaType: MediaType.OciIndex, digest: m.digest, size: m.size });
    assert.equal(reg.requests('GET', '/manifests/v1').length, 1);
    assert.ok(events.some((e) => e.type === 'fallback' && e.what === 'head-to-get'));
  } finally {
    await done();
  }
});

test('a missing image is ERR_IMAGE_NOT_FOUND naming the reference and the endpoint; a missing blob ERR_BLOB_NOT_FOUND', async () => {
  const { reg, repo, done } = await setup();
  try {
    for (const call of [() => repo.resolve('nope'), () => repo.fetchManifest('nope')]) {
      await assert.rejects(call(), (e: Error & { code?: string; kind?: string }) => {
        assert.ok(e instanceof NotFoundError);
        assert.equal(e.code, 'ERR_IMAGE_NOT_FOUND');
        assert.equal(e.kind, 'remote');
        assert.match(e.message, new RegExp(`image fake\\.test/team/app:nope not found in http://${reg.host.replace(/\./g, '\\.')}/v2/mirror/team/app`));
        return true;
      });
    }
    const digest = sha256('missing') as Digest;
    await assert.rejects(repo.fetch({ mediaType: MediaType.OciLayerGzip, digest, size: 7 }), (e: Error & { code?: string }) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'ERR_BLOB_NOT_FOUND');
      assert.match(e.message, new RegExp(`blob ${digest} of fake\\.test/team/app not found`));
      assert.match(e.message, /BLOB_UNKNOWN/);
      return true;
    });
    assert.equal(await repo.exists({ mediaType: MediaType.OciLayerGzip, digest, size: 7 }), false);
  } finally {
    await done();
  }
});

test('a schema 1 manifest is refused with the explanation', async () => {
  const { reg, repo, done } = await setup();
  try {
    reg.addManifest('mirror/team/app', 'old', JSON.stringify({ schemaVersion: 1, name: 'team/app', tag: 'old', fsLayers: [] }), MediaType.DockerSchema1Signed);
    for (const call of [() => repo.resolve('old'), () => repo.fetchManifest('old')]) {
      await assert.rejects(call(), (e: Error & { code?: string; hint?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
        assert.match(e.hint ?? '', /schema 1/i);
        assert.equal(e.details?.reference, 'fake.test/team/app:old');
        return true;
      });
    }
  } finally {
    await done();
  }
});

test('manifests are verified: by digest against the digest, by tag against Docker-Content-Digest', async () => {
  const { reg, repo, done } = await setup();
  try {
    const m = reg.addManifest('mirror/team/app', 'v1', INDEX, MediaType.OciIndex);
    const got = await repo.fetchManifest('v1');
    assert.equal(got.descriptor.digest, m.digest);
    assert.equal(got.manifest.kind, 'index');
    assert.equal(got.bytes.toString(), INDEX);
    // The stored bytes change under the same digest key: by-digest fetch notices.
    const tampered = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], annotations: { x: 'y' } });
    reg.manifests.get('mirror/team/app')!.set(m.digest, { bytes: Buffer.from(tampered), mediaType: MediaType.OciIndex });
    await assert.rejects(repo.fetchManifest(m.digest), (e: Error & { code?: string }) => e.code === 'ERR_DIGEST_MISMATCH');
    await assert.rejects(repo.fetchManifest({ mediaType: MediaType.OciIndex, digest: m.digest as Digest, size: m.size }), (e: Error & { code?: string }) => e.code === 'ERR_SIZE_MISMATCH');
    // By tag with a lying Docker-Content-Digest.
    reg.hooks.push((req, res) => {
      if (req.method !== 'GET' || !req.url?.endsWith('/manifests/v1')) return false;
      res.writeHead(200, { 'content-type': MediaType.OciIndex, 'docker-content-digest': sha256('something else') }).end(INDEX);
      return true;
    });
    await assert.rejects(repo.fetchManifest('v1'), (e: Error & { code?: string }) => e.code === 'ERR_DIGEST_MISMATCH');
    // fetch() of a manifest descriptor goes to /manifests/ and is verified as a stream.
    reg.manifests.get('mirror/team/app')!.set(m.digest, { bytes: Buffer.from(INDEX), mediaType: MediaType.OciIndex });
    const s = await repo.fetch({ mediaType: MediaType.OciIndex, digest: m.digest as Digest, size: m.size });
    assert.equal((await readStream(s)).toString(), INDEX);
  } finally {
    await done();
  }
});

test('tags follow Link pagination', async () => {
  const { reg, repo, done } = await setup({ tagPageSize: 3 });
  try {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const t of names) reg.addManifest('mirror/team/app', t, INDEX, MediaType.OciIndex);
    assert.deepEqual(await repo.tags(), names);
    assert.equal(reg.requests('GET', '/tags/list').length, 3);
    await assert.rejects(testClient({ mirrors: [`fake.test=${reg.url}`] }).client.repository('fake.test/none').tags(), (e: Error & { code?: string }) => e.code === 'ERR_IMAGE_NOT_FOUND');
  } finally {
    await done();
  }
  assert.equal(nextLink('</v2/x/tags/list?n=2&last=b>; rel="next"', 'http://h:1/v2/x/tags/list'), 'http://h:1/v2/x/tags/list?n=2&last=b');
  assert.equal(nextLink('<https://o/p>; rel="prev", <https://o/n>; rel=next', 'http://h/'), 'https://o/n');
  assert.equal(nextLink(undefined, 'http://h/'), undefined);
});

test('push: every blob in POST + one PUT (small ones buffered, large ones streamed), then read back', async () => {
  const { reg, repo, done } = await setup({}, { monolithicMaxBytes: 64 * 1024 });
  try {
    const small = bytes(10_000, 1);
    const large = bytes(500_000, 2);
    const sd: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: sha256(small) as Digest, size: small.byteLength };
    const ld: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: sha256(large) as Digest, size: large.byteLength };
    await repo.push(sd, Readable.from([small]));
    assert.equal(reg.requests('PATCH', '/blobs/uploads/').length, 0, 'monolithic: no PATCH');
    const put = reg.requests('PUT', '/blobs/uploads/')[0]!;
    assert.match(put.url, /_state=abc&digest=sha256%3A|_state=abc&digest=sha256:/, 'the upload URL keeps its state query and gains the digest');
    await repo.push(ld, Readable.from([large.subarray(0, 200_000), large.subarray(200_000)]));
    assert.equal(reg.requests('PATCH', '/blobs/uploads/').length, 0, 'streamed too, in the PUT: no PATCH');
    const puts = reg.requests('PUT', '/blobs/uploads/');
    assert.equal(puts.length, 2, 'one PUT per blob');
    assert.equal(puts[1]!.headers['content-length'], String(large.byteLength));
    assert.match(puts[1]!.url, new RegExp(`digest=${encodeURIComponent(ld.digest)}|digest=${ld.digest}`));
    assert.ok((await readStream(await repo.fetch(ld))).equals(large));
    assert.ok(await repo.exists(sd));
  } finally {
    await done();
  }
});

test('push of content that does not match its descriptor stores nothing and cancels the upload', async () => {
  const { reg, repo, done } = await setup({}, { monolithicMaxBytes: 1024 });
  try {
    const data = bytes(5000, 3);
    const desc: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: sha256(data) as Digest, size: data.byteLength };
    await assert.rejects(repo.push(desc, Readable.from([bytes(5000, 4)])), (e: Error & { code?: string }) => e.code === 'ERR_DIGEST_MISMATCH');
    await assert.rejects(repo.push({ ...desc, size: 4000 }, Readable.from([data])), (e: Error & { code?: string }) => e.code === 'ERR_SIZE_MISMATCH');
    assert.ok(!reg.blobs.has(desc.digest));
    assert.equal(reg.uploads.size, 0, 'abandoned upload sessions are deleted');
  } finally {
    await done();
  }
});

test('mount: true when the registry mounts, false (upload cancelled) when it cannot, false across registries', async () => {
  const { reg, repo, client, done } = await setup();
  try {
    const have = reg.addBlob('shared layer');
    const d: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: have.digest as Digest, size: have.size };
    assert.equal(await repo.mount(d, 'fake.test/team/base'), true);
    const post = reg.requests('POST', '/blobs/uploads/')[0]!;
    assert.match(post.url, /mount=sha256%3A[0-9a-f]{64}&from=mirror%2Fteam%2Fbase/);
    const missing: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: sha256('nowhere') as Digest, size: 7 };
    assert.equal(await repo.mount(missing, client.repository('fake.test/team/base')), false);
    assert.equal(reg.uploads.size, 0, 'the upload the registry opened instead is cancelled');
    assert.equal(await repo.mount(d, 'docker.io/library/busybox'), false);
  } finally {
    await done();
  }
});

test('pushManifest, tag and exists for manifests', async () => {
  const { reg, repo, done } = await setup();
  try {
    const bytesOf = Buffer.from(INDEX);
    const desc = await repo.pushManifest(bytesOf, MediaType.OciIndex, sha256(bytesOf));
    assert.deepEqual(desc, { mediaType: MediaType.OciIndex, digest: sha256(bytesOf), size: bytesOf.byteLength });
    await repo.tag(desc, 'v2');
    assert.equal(reg.manifests.get('mirror/team/app')!.get('v2')!.bytes.toString(), INDEX);
    assert.equal(reg.requests('PUT', '/manifests/v2')[0]!.headers['content-type'], MediaType.OciIndex);
    assert.ok(await repo.exists(desc));
    assert.deepEqual(await repo.resolve('v2'), desc);
    await assert.rejects(repo.pushManifest(bytesOf, MediaType.OciIndex, sha256('other')), (e: Error & { code?: string }) => e.code === 'ERR_DIGEST_MISMATCH');
    // push() of a manifest-typed descriptor is a manifest PUT by digest
    const m2 = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], annotations: { a: 'b' } }));
    await repo.push({ mediaType: MediaType.OciIndex, digest: sha256(m2) as Digest, size: m2.byteLength }, Readable.from([m2]));
    assert.equal(reg.requests('PUT', `/manifests/${sha256(m2)}`).length, 1);
  } finally {
    await done();
  }
});
