import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeRegistry, sha256 } from './fake-registry.js';
import { bytes, readStream, testClient } from './helpers.js';
import { MediaType } from '../../src/oci/media-type.js';
import { Digester, type Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { DigestMismatchError, SizeMismatchError } from '../../src/content/errors.js';
import { HashPool } from '../../src/content/hash-pool.js';
import type { RegistryClientOptions } from '../../src/registry/client.js';

const SIZE = 1_000_000;
const CUT = 300_000;

function layer(reg: FakeRegistry, data: Buffer): Descriptor {
  const b = reg.addBlob(data);
  return { mediaType: MediaType.OciLayerGzip, digest: b.digest as Digest, size: b.size };
}

/** The first `times` full GETs of a blob send `cut` bytes and then drop the connection. */
function cutOff(reg: FakeRegistry, data: Buffer, cut: number, times = 1): void {
  let n = 0;
  reg.hooks.push((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:') || req.headers.range || n >= times) return false;
    n++;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.byteLength });
    res.write(data.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    return true;
  });
}

/** A client mirroring fake.test to `reg`; the client is closed and the registry stopped after `body`. */
async function withClient(reg: FakeRegistry, opts: RegistryClientOptions, body: (t: ReturnType<typeof testClient>) => Promise<void>): Promise<void> {
  const t = testClient({ mirrors: [`fake.test=${reg.url}`], ...opts });
  try {
    await body(t);
  } finally {
    await t.client.close();
    await reg.stop();
  }
}

test('a connection dropped mid-blob resumes with a Range request and the result is verified', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(SIZE, 3);
  const desc = layer(reg, data);
  cutOff(reg, data, CUT);
  await withClient(reg, {}, async ({ client, events }) => {
    const got = await readStream(await client.repository('fake.test/a').fetch(desc));
    assert.ok(got.equals(data));
    const gets = reg.requests('GET', '/blobs/sha256:');
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.headers.range, undefined);
    assert.equal(gets[1]!.headers.range, `bytes=${CUT}-`, 'asks for exactly the bytes it lacks');
    const resume = events.find((e) => e.type === 'resume');
    assert.ok(resume && resume.type === 'resume' && resume.offset === CUT && resume.digest === desc.digest);
  });
});

test('a server that ignores Range (200) is handled by skipping what we already have', async () => {
  const reg = await new FakeRegistry({ ignoreRange: true }).start();
  const data = bytes(SIZE, 4);
  const desc = layer(reg, data);
  cutOff(reg, data, CUT);
  await withClient(reg, {}, async ({ client, events }) => {
    const got = await readStream(await client.repository('fake.test/a').fetch(desc));
    assert.ok(got.equals(data));
    assert.equal(reg.requests('GET', '/blobs/sha256:')[1]!.headers.range, `bytes=${CUT}-`);
    assert.ok(events.some((e) => e.type === 'range-ignored' && e.offset === CUT));
  });
});

test('a stalled body (idle timeout) is resumed too', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(SIZE, 5);
  const desc = layer(reg, data);
  let stalled = false;
  reg.hooks.push((req, res) => {
    if (stalled || req.method !== 'GET' || !req.url?.includes('/blobs/')) return false;
    stalled = true;
    res.writeHead(200, { 'content-length': data.byteLength });
    res.write(data.subarray(0, CUT)); // and then nothing, connection open
    return true;
  });
  await withClient(reg, { timeouts: { bodyIdleMs: 300 } }, async ({ client }) => {
    const got = await readStream(await client.repository('fake.test/a').fetch(desc));
    assert.ok(got.equals(data));
    assert.equal(reg.requests('GET', '/blobs/sha256:')[1]!.headers.range, `bytes=${CUT}-`);
  });
});

test('a connection that keeps dropping without progress gives up with ERR_REGISTRY_UNAVAILABLE', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(SIZE, 6);
  const desc = layer(reg, data);
  reg.hooks.push((req, res) => {
    if (req.method !== 'GET' || !req.url?.includes('/blobs/')) return false;
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(start ? 206 : 200, { 'content-length': data.byteLength - start, ...(start ? { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}` } : {}) });
    // the first answer gets some bytes through; every later one none
    if (start === 0) res.write(data.subarray(0, CUT), () => setTimeout(() => res.socket?.destroy(), 20));
    else res.socket?.destroy();
    return true;
  });
  await withClient(reg, { retry: { attempts: 3 } }, async ({ client }) => {
    const s = await client.repository('fake.test/a').fetch(desc);
    await assert.rejects(readStream(s), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_REGISTRY_UNAVAILABLE');
      assert.match(e.message, new RegExp(desc.digest));
      return true;
    });
  });
});

test('bytes that do not match the digest fail with DigestMismatchError', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(50_000, 8);
  const desc = layer(reg, data);
  reg.blobs.set(desc.digest, bytes(50_000, 9)); // same size, other bytes
  await withClient(reg, {}, async ({ client }) => {
    const s = await client.repository('fake.test/a').fetch(desc);
    await assert.rejects(readStream(s), (e: Error) => {
      assert.ok(e instanceof DigestMismatchError);
      assert.equal(e.code, 'ERR_DIGEST_MISMATCH');
      assert.match(e.message, /fake\.test\/a \(via http:\/\/127\.0\.0\.1:\d+\)/);
      return true;
    });
  });
});

test('too long or too short fails with SizeMismatchError', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(10_000, 10);
  const digest = sha256(data) as Digest;
  reg.blobs.set(digest, data);
  await withClient(reg, {}, async ({ client }) => {
    const repo = client.repository('fake.test/a');
    // The registry announces more than the descriptor allows: refused before reading.
    await assert.rejects(repo.fetch({ mediaType: MediaType.OciLayer, digest, size: 9_000 }), (e: Error) => e instanceof SizeMismatchError && /too long/.test(e.message));
    // No Content-Length (chunked) and too many bytes: cut off as they pass.
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/blobs/')) return false;
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(data);
      return true;
    });
    await assert.rejects(readStream(await repo.fetch({ mediaType: MediaType.OciLayer, digest, size: 9_000 })), (e: Error) => e instanceof SizeMismatchError && /too long/.test(e.message));
    await assert.rejects(readStream(await repo.fetch({ mediaType: MediaType.OciLayer, digest, size: 11_000 })), (e: Error) => e instanceof SizeMismatchError && /truncated/.test(e.message));
  });
});

test('fetch from an offset with the prefix hash still verifies the whole blob', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(100_000, 11);
  const desc = layer(reg, data);
  await withClient(reg, {}, async ({ client }) => {
    const prefix = new Digester();
    prefix.update(data.subarray(0, 40_000));
    const rest = await readStream(await client.repository('fake.test/a').fetch(desc, { offset: 40_000, prefix }));
    assert.ok(rest.equals(data.subarray(40_000)));
    assert.equal(reg.requests('GET', '/blobs/')[0]!.headers.range, 'bytes=40000-');
    const wrong = new Digester();
    wrong.update(Buffer.alloc(40_000));
    await assert.rejects(readStream(await client.repository('fake.test/a').fetch(desc, { offset: 40_000, prefix: wrong })), DigestMismatchError);
  });
});

test('aborting a download stops it at once, without resuming', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(SIZE, 12);
  const desc = layer(reg, data);
  reg.hooks.push((req, res) => {
    if (req.method !== 'GET' || !req.url?.includes('/blobs/')) return false;
    res.writeHead(200, { 'content-length': data.byteLength });
    res.write(data.subarray(0, CUT)); // then stall
    return true;
  });
  await withClient(reg, {}, async ({ client, events }) => {
    const ac = new AbortController();
    const s = await client.repository('fake.test/a').fetch(desc, { signal: ac.signal });
    let seen = 0;
    const t0 = Date.now();
    await assert.rejects(
      (async () => {
        for await (const c of s) {
          seen += (c as Buffer).byteLength;
          if (seen >= 1000) ac.abort();
        }
      })(),
      (e: Error) => e.name === 'AbortError',
    );
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(events.filter((e) => e.type === 'resume').length, 0);
    assert.equal(reg.requests('GET', '/blobs/').length, 1);
    await assert.rejects(client.repository('fake.test/a').resolve('x', { signal: AbortSignal.abort() }), (e: Error) => e.name === 'AbortError');
  });
});

test('hashed on a pool thread: a dropped connection still resumes into one verified blob, and wrong bytes still fail', async () => {
  const reg = await new FakeRegistry().start();
  const pool = new HashPool();
  const data = bytes(3 * SIZE, 11); // above the size hashed in place
  const desc = layer(reg, data);
  cutOff(reg, data, CUT);
  const wrong = bytes(3 * SIZE, 12);
  const bad = layer(reg, wrong);
  reg.blobs.set(bad.digest, bytes(3 * SIZE, 13)); // same size, other bytes
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], hashPool: pool });
  try {
    const got = await readStream(await client.repository('fake.test/a').fetch(desc));
    assert.ok(got.equals(data));
    assert.ok(events.some((e) => e.type === 'resume' && e.offset === CUT));
    await assert.rejects(readStream(await client.repository('fake.test/a').fetch(bad)), (e: Error) => e instanceof DigestMismatchError && e.message.includes(bad.digest));
  } finally {
    await client.close();
    await pool.close();
    await reg.stop();
  }
});
