import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { readAll, testAgent, withCode, type CodedError } from './helpers.js';
import { response, serveEach, sleep, startRawServer, type RawConn } from './raw-server.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Read the request body the head announces; answer 201 with the body's length. */
async function storeBody(head: string, c: RawConn): Promise<Buffer> {
  const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  const body = await c.body(len);
  await c.write(response(String(body.length), {}, '201 Created'));
  return body;
}

function chunks(data: Buffer, size: number, delayMs = 0): Readable {
  return Readable.from((async function* () {
    for (let i = 0; i < data.length; i += size) {
      if (delayMs) await sleep(delayMs);
      yield data.subarray(i, i + size);
    }
  })());
}

test('a Buffer body goes out with its length, a stream with the length given; the connection is kept for the next request', async () => {
  const got: Buffer[] = [];
  const server = await startRawServer(serveEach(async (head, c) => void got.push(await storeBody(head, c))));
  const agent = testAgent();
  try {
    const small = bytes(1000, 1);
    const r1 = await agent.request({ method: 'PUT', url: new URL(`${server.url}/a`), headers: { 'content-length': '5' }, body: small });
    assert.equal(r1.status, 201);
    assert.equal((await readAll(r1.body)).toString(), '1000', 'a wrong content-length header is replaced by the Buffer\'s');
    const large = bytes(3_000_000, 2);
    const r2 = await agent.request({ method: 'PUT', url: new URL(`${server.url}/b`), headers: { 'content-length': String(large.length) }, body: chunks(large, 65_536) });
    assert.equal(r2.status, 201);
    await readAll(r2.body);
    assert.ok(got[0]!.equals(small));
    assert.ok(got[1]!.equals(large), 'the streamed body arrives byte for byte');
    assert.equal(server.conns.length, 1, 'both requests on one kept-alive connection');
    assert.match(server.conns[0]!.requests[1]!, /^PUT \/b HTTP\/1\.1/);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a streamed body without content-length is refused before any connection is made', async () => {
  const server = await startRawServer(serveEach((_h, c) => c.write(response('x'))));
  const agent = testAgent({ connections: 1 });
  try {
    await assert.rejects(agent.request({ method: 'PUT', url: new URL(`${server.url}/a`), headers: {}, body: chunks(bytes(10, 1), 5) }), /content-length/);
    assert.equal(server.conns.length, 0);
    const r = await agent.request({ method: 'GET', url: new URL(`${server.url}/b`), headers: {} });
    assert.equal((await readAll(r.body)).toString(), 'x', 'the pool slot was not lost');
  } finally {
    agent.close();
    await server.close();
  }
});

test('an answer that comes before the upload ends (early 401) is returned, the upload stops and the connection is not reused', async () => {
  const server = await startRawServer(serveEach(async (head, c) => {
    if (head.startsWith('PUT')) {
      await c.write(response('no', { 'www-authenticate': 'Bearer realm="x"' }, '401 Unauthorized'));
      return;
    }
    await c.write(response('fine'));
  }));
  const agent = testAgent();
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += 65_536;
      setTimeout(() => this.push(Buffer.alloc(65_536)), 1);
    },
  });
  try {
    const r = await agent.request({ method: 'PUT', url: new URL(`${server.url}/u`), headers: { 'content-length': String(1 << 30) }, body: endless });
    assert.equal(r.status, 401);
    await readAll(r.body);
    await sleep(50);
    assert.ok(endless.destroyed, 'the source is released');
    const before = produced;
    await sleep(50);
    assert.equal(produced, before, 'nothing more is read from the source');
    const again = await agent.request({ method: 'GET', url: new URL(`${server.url}/next`), headers: {} });
    assert.equal((await readAll(again.body)).toString(), 'fine');
    assert.equal(server.conns.length, 2, 'a fresh connection after the interrupted upload');
  } finally {
    agent.close();
    await server.close();
  }
});

test('a source that fails mid-upload fails the request with its own error, and the connection is dropped', async () => {
  const server = await startRawServer(serveEach(async (head, c) => void (await storeBody(head, c))));
  const agent = testAgent();
  const failing = Readable.from((async function* () {
    yield bytes(100_000, 3);
    throw Object.assign(new Error('digest mismatch in the source'), { code: 'ERR_DIGEST_MISMATCH' });
  })());
  try {
    await assert.rejects(
      agent.request({ method: 'PUT', url: new URL(`${server.url}/u`), headers: { 'content-length': '200000' }, body: failing }),
      withCode('ERR_DIGEST_MISMATCH', /digest mismatch/),
    );
    await sleep(50);
    assert.ok(server.conns[0]!.closed, 'a half-sent request leaves no connection behind');
  } finally {
    agent.close();
    await server.close();
  }
});

test('an upload the server stops reading fails after the idle timeout; a slow upload does not count against the head timeout', async () => {
  const stall = await startRawServer(async (c) => {
    await c.request();
    c.socket.pause(); // reads nothing more: our socket fills up
  });
  const slow = await startRawServer(serveEach(async (head, c) => void (await storeBody(head, c))));
  const agent = testAgent({ bodyIdleMs: 300, headersMs: 300 });
  try {
    const big = bytes(64 * 1024 * 1024, 4);
    const t0 = performance.now();
    await assert.rejects(
      agent.request({ method: 'PUT', url: new URL(`${stall.url}/u`), headers: { 'content-length': String(big.length) }, body: chunks(big, 1 << 20) }),
      (e: CodedError) => e.code === 'AIRGAP_HTTP_BODY_TIMEOUT' && /upload stalled/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 5000);
    // 10 chunks 60 ms apart: 600 ms of sending, twice the head timeout, and never idle 300 ms.
    const data = bytes(10 * 1000, 5);
    const r = await agent.request({ method: 'PUT', url: new URL(`${slow.url}/u`), headers: { 'content-length': String(data.length) }, body: chunks(data, 1000, 60) });
    assert.equal(r.status, 201);
    assert.equal((await readAll(r.body)).toString(), String(data.length));
  } finally {
    agent.close();
    await stall.close();
    await slow.close();
  }
});

test('a streamed upload is never sent on a connection idle long enough to be stale, and never silently resent', async () => {
  const server = await startRawServer(async (c, index) => {
    const head = await c.request();
    if (head === undefined) return;
    if (index === 1) {
      // the second connection dies as the upload arrives
      c.socket.destroy();
      return;
    }
    await c.body(Number(/content-length: (\d+)/i.exec(head)![1]));
    await c.write(response('ok', {}, '201 Created'));
    for (let h = await c.request(); h !== undefined; h = await c.request()) {
      await c.body(Number(/content-length: (\d+)/i.exec(h)?.[1] ?? 0));
      await c.write(response('ok', {}, '201 Created'));
    }
  });
  const agent = testAgent();
  const put = (n: number) => agent.request({ method: 'PUT', url: new URL(`${server.url}/u`), headers: { 'content-length': String(n) }, body: chunks(bytes(n, 6), 100) });
  try {
    await readAll((await put(1000)).body);
    await sleep(2200);
    // idle for more than 2 s: the stream goes on a new connection (#1), which dies; no second try
    await assert.rejects(put(1000), (e: CodedError) => /ECONNRESET|EPIPE|AIRGAP_HTTP_PREMATURE_CLOSE/.test(e.code ?? ''));
    assert.equal(server.conns.length, 2, 'one new connection, not a silent retry on a third');
  } finally {
    agent.close();
    await server.close();
  }
});
