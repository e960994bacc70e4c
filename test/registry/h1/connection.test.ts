import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { fetchText, get, readAll, testAgent, withCode, type CodedError } from './helpers.js';
import { response, serveEach, sleep, startRawServer } from './raw-server.js';

test('HEAD with a Content-Length has no body; the connection carries the next request', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('HEAD ')) await c.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\ndocker-content-digest: sha256:aa\r\n\r\n');
      else await c.write(response('after head'));
    }),
  );
  const agent = testAgent();
  try {
    const res = await get(agent, `${server.url}/v2/a/manifests/1`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '1234');
    assert.equal(res.headers['docker-content-digest'], 'sha256:aa');
    assert.equal((await readAll(res.body)).length, 0);
    assert.deepEqual(await fetchText(agent, `${server.url}/next`), { status: 200, text: 'after head' });
    assert.equal(server.conns.length, 1);
    assert.match(server.conns[0]!.requests[0]!, /^HEAD \/v2\/a\/manifests\/1 HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+/);
  } finally {
    agent.close();
    await server.close();
  }
});

test('204 and 304 end without a body and keep the connection', async () => {
  const server = await startRawServer(
    serveEach(async (head, c, n) => {
      if (n === 0) await c.write('HTTP/1.1 204 No Content\r\n\r\n');
      else if (n === 1) await c.write('HTTP/1.1 304 Not Modified\r\netag: "x"\r\ncontent-length: 99\r\n\r\n');
      else await c.write(response('third'));
    }),
  );
  const agent = testAgent();
  try {
    assert.deepEqual(await fetchText(agent, `${server.url}/a`), { status: 204, text: '' });
    assert.deepEqual(await fetchText(agent, `${server.url}/b`), { status: 304, text: '' });
    assert.deepEqual(await fetchText(agent, `${server.url}/c`), { status: 200, text: 'third' });
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('100 Continue and 103 Early Hints are skipped; the final response follows, in one write or split anywhere', async () => {
  const wire = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-final: yes\r\n\r\nhello';
  const server = await startRawServer(
    serveEach(async (_head, c, n) => {
      if (n === 0) await c.write(wire);
      // inside the first interim head, right after it, inside the second's blank line, inside the final head, inside the body
      else await c.writeSplit(wire, [10, 25, 75, 78, 100, wire.length - 2]);
    }),
  );
  const agent = testAgent();
  try {
    for (let i = 0; i < 2; i++) {
      const res = await get(agent, `${server.url}/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-final'], 'yes');
      assert.equal(res.headers.link, undefined, 'interim headers are not mixed into the final ones');
      assert.equal((await readAll(res.body)).toString(), 'hello');
    }
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a chunked body split at awkward points decodes exactly and leaves the connection reusable', async () => {
  const head = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
  const body = '5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n';
  const wire = head + body;
  const h = head.length;
  // inside the head's blank line, just after it, inside a size line, between CR and LF, inside data,
  // inside the CRLF after data, inside the trailer, before the last LF
  const cuts = [h - 2, h, h + 1, h + 2, h + 5, h + 9, h + 11, h + 20, h + 30, h + 31, h + 36, wire.length - 1];
  const server = await startRawServer(
    serveEach(async (_head, c, n) => {
      if (n === 0) await c.writeSplit(wire, cuts, 3);
      else await c.write(response('next'));
    }),
  );
  const agent = testAgent();
  try {
    const res = await get(agent, `${server.url}/blob`);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal((await readAll(res.body)).toString(), 'hello0123456789');
    assert.deepEqual(await fetchText(agent, `${server.url}/next`), { status: 200, text: 'next' });
    assert.equal(server.conns.length, 1, 'the decoder ended exactly at the end of the body');
  } finally {
    agent.close();
    await server.close();
  }
});

test('a body delimited by the connection closing is read to the end, and the connection is not reused', async () => {
  const server = await startRawServer(
    serveEach(async (_head, c, n) => {
      if (n === 0) {
        await c.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ');
        await sleep(20);
        await c.write('part two');
        c.socket.end();
      } else await c.write(response('fresh'));
    }),
  );
  const agent = testAgent();
  try {
    assert.deepEqual(await fetchText(agent, `${server.url}/a`), { status: 200, text: 'part one, part two' });
    assert.deepEqual(await fetchText(agent, `${server.url}/b`), { status: 200, text: 'fresh' });
    assert.equal(server.conns.length, 2);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a connection closed mid-body fails the body stream with AIRGAP_HTTP_PREMATURE_CLOSE', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /length')) {
        await c.write(`HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${'x'.repeat(40)}`);
      } else {
        await c.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nonly');
      }
      await sleep(20);
      c.socket.destroy();
    }),
  );
  const agent = testAgent();
  try {
    const res = await get(agent, `${server.url}/length`);
    assert.equal(res.status, 200, 'the head arrived complete: the request itself succeeded');
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const c of res.body) got += (c as Buffer).length;
      })(),
      withCode('AIRGAP_HTTP_PREMATURE_CLOSE', /60 bytes of the body still to come/),
    );
    assert.equal(got, 40, 'the bytes that came are delivered before the error');
    const chunked = await get(agent, `${server.url}/chunked`);
    await assert.rejects(readAll(chunked.body), withCode('AIRGAP_HTTP_PREMATURE_CLOSE', /before the body ended/));
  } finally {
    agent.close();
    await server.close();
  }
});

test('bytes after the end of a response mean the connection is out of step: it is not reused', async () => {
  const server = await startRawServer(
    serveEach(async (_head, c, n) => {
      if (n === 0) {
        await c.write(Buffer.concat([response('abc'), Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil')]));
      } else if (n === 1) {
        await c.write(response('def'));
        await sleep(20);
        await c.write('stray bytes on an idle connection');
      } else await c.write(response(`answer ${n}`));
    }),
  );
  const agent = testAgent();
  try {
    assert.deepEqual(await fetchText(agent, `${server.url}/1`), { status: 200, text: 'abc' });
    assert.deepEqual(await fetchText(agent, `${server.url}/2`), { status: 200, text: 'def' }, 'the smuggled response is never read as the answer');
    await sleep(60);
    assert.deepEqual(await fetchText(agent, `${server.url}/3`), { status: 200, text: 'answer 2' });
    assert.equal(server.conns.length, 3);
    await server.conns[0]!.whenClosed;
    await server.conns[1]!.whenClosed;
  } finally {
    agent.close();
    await server.close();
  }
});

test('a response that is not HTTP, or that switches protocols, is AIRGAP_HTTP_BAD_RESPONSE', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /ssh')) await c.write('SSH-2.0-OpenSSH_9.2p1\r\n\r\n');
      else if (head.startsWith('GET /101')) await c.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n');
      else await c.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!');
    }),
  );
  const agent = testAgent();
  try {
    await assert.rejects(get(agent, `${server.url}/ssh`), withCode('AIRGAP_HTTP_BAD_RESPONSE', /not an HTTP\/1\.x response \(it starts "SSH-2\.0/));
    await assert.rejects(get(agent, `${server.url}/101`), withCode('AIRGAP_HTTP_BAD_RESPONSE', /switched protocols/));
    await assert.rejects(get(agent, `${server.url}/cl`), withCode('AIRGAP_HTTP_BAD_RESPONSE', /invalid Content-Length "5, 6"/));
    assert.equal(server.conns.length, 3, 'each bad answer dropped its connection');
  } finally {
    agent.close();
    await server.close();
  }
});

test('no response head in time is AIRGAP_HTTP_HEADERS_TIMEOUT, also when part of the head came', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /partial')) await c.write('HTTP/1.1 200 OK\r\ncontent-le');
      // else: silence
    }),
  );
  const agent = testAgent({ headersMs: 200 });
  try {
    for (const path of ['/silent', '/partial']) {
      const t0 = performance.now();
      await assert.rejects(get(agent, `${server.url}${path}`), withCode('AIRGAP_HTTP_HEADERS_TIMEOUT', /no response from 127\.0\.0\.1:\d+ within 200 ms/));
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 190 && elapsed < 1500, `${path}: gave up after ${Math.round(elapsed)} ms`);
    }
    await server.conns[0]!.whenClosed;
    await server.conns[1]!.whenClosed;
  } finally {
    agent.close();
    await server.close();
  }
});

test('a body that stops arriving is AIRGAP_HTTP_BODY_TIMEOUT; one that trickles slowly is not', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /stall')) {
        await c.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${'s'.repeat(100)}`);
        return; // and nothing more, connection open
      }
      await c.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n');
      for (let i = 0; i < 6; i++) {
        await sleep(60);
        await c.write(String(i));
      }
    }),
  );
  const agent = testAgent({ bodyIdleMs: 200 });
  try {
    const res = await get(agent, `${server.url}/stall`);
    const t0 = performance.now();
    await assert.rejects(readAll(res.body), withCode('AIRGAP_HTTP_BODY_TIMEOUT', /the response body stalled for (19\d|[2-9]\d\d|1\d\d\d) ms/));
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 150 && elapsed < 1500, `gave up after ${Math.round(elapsed)} ms`);
    await server.conns[0]!.whenClosed;
    // 360 ms in all, never 200 ms without a byte
    assert.deepEqual(await fetchText(agent, `${server.url}/trickle`), { status: 200, text: '012345' });
  } finally {
    agent.close();
    await server.close();
  }
});

/** A server sending `total` bytes (1 MiB pieces, byte value = piece number) and tracking how far it got. */
async function bulkServer(total: number, chunked = false) {
  const progress = { sent: 0 };
  const piece = 1024 * 1024;
  const server = await startRawServer(
    serveEach(async (_head, c) => {
      await c.write(`HTTP/1.1 200 OK\r\n${chunked ? 'transfer-encoding: chunked' : `content-length: ${total}`}\r\n\r\n`);
      for (let i = 0; progress.sent < total; i++) {
        const data = Buffer.alloc(Math.min(piece, total - progress.sent), i & 0xff);
        const ok = c.socket.write(chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data);
        progress.sent += data.length;
        if (!ok) await once(c.socket, 'drain');
      }
      if (chunked) c.socket.write('0\r\n\r\n');
    }),
  );
  return { server, progress };
}

/** Reads a bulkServer body, checking every byte, and returns its length. */
async function readBulk(body: AsyncIterable<unknown>): Promise<number> {
  const piece = 1024 * 1024;
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    for (let off = 0; off < b.length; ) {
      const expected = Math.floor(n / piece) & 0xff;
      const run = Math.min(b.length - off, piece - (n % piece));
      const slice = b.subarray(off, off + run);
      if (slice[0] !== expected || slice[run - 1] !== expected || slice.indexOf(expected ^ 1) >= 0) assert.fail(`wrong byte at ${n}`);
      off += run;
      n += run;
    }
  }
  return n;
}

test('backpressure: a reader that does not read holds the server back instead of buffering the body', async () => {
  const total = 64 * 1024 * 1024;
  const { server, progress } = await bulkServer(total);
  const agent = testAgent();
  try {
    const res = await get(agent, `${server.url}/big`);
    await sleep(300);
    const first = progress.sent;
    await sleep(200);
    assert.equal(progress.sent, first, 'the server is blocked: nothing more left it while nobody read');
    assert.ok(first < total / 2, `the server got only ${first} bytes out`);
    // The body hands on reads as they came (object mode): at most a few reads of at most one slab each.
    assert.ok(res.body.readableObjectMode && res.body.readableLength <= 8, `the body buffered ${res.body.readableLength} reads`);
    assert.equal(await readBulk(res.body), total, 'and once read, every byte arrives in order');
  } finally {
    agent.close();
    await server.close();
  }
});

// (the Content-Length variant, through the registry client: test/registry/h1/transport.test.ts)
test('a slow reader (body paused longer than the stall timeout) is not a stalled server', async () => {
  const total = 8 * 1024 * 1024;
  const { server } = await bulkServer(total, true);
  const agent = testAgent({ bodyIdleMs: 150 });
  try {
    const res = await get(agent, `${server.url}/big`);
    await sleep(400);
    let n = 0;
    for await (const c of res.body) {
      n += (c as Buffer).length;
      // and a pause in the middle, as a slow disk would cause
      if (n >= total / 2 && n - (c as Buffer).length < total / 2) await sleep(300);
    }
    assert.equal(n, total);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a header value or name that could end a line is refused before anything is sent', async () => {
  const server = await startRawServer(serveEach((_head, c) => c.write(response('ok'))));
  const agent = testAgent({ connections: 1 });
  try {
    const refused: Record<string, string>[] = [{ 'x-evil': 'a\r\nx-injected: 1' }, { 'x-evil': 'a\nb' }, { 'x-evil': 'a\0b' }, { 'x evil': 'a' }, { 'x-evil:\r\nx-injected': 'a' }];
    for (const headers of refused) {
      await assert.rejects(get(agent, `${server.url}/`, { headers }), (e: CodedError) => e instanceof TypeError && /invalid HTTP header/.test(e.message), JSON.stringify(headers));
    }
    assert.equal(server.conns.reduce((n, c) => n + c.requests.length + c.pending, 0), 0, 'no bytes reached the server');
    // and the refused requests did not take the only connection slot with them
    assert.deepEqual(await fetchText(agent, `${server.url}/ok`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(2000) }), { status: 200, text: 'ok' });
    assert.match(server.conns.at(-1)!.requests[0]!, /\r\naccept: application\/json$/);
  } finally {
    agent.close();
    await server.close();
  }
});
