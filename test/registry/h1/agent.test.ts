import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { fetchText, get, readAll, testAgent, withCode, type CodedError } from './helpers.js';
import { response, serveEach, sleep, startRawServer } from './raw-server.js';

const isAbort = (e: CodedError): boolean => e.name === 'AbortError';

test('keep-alive: sequential requests share one connection', async () => {
  const server = await startRawServer(serveEach((head, c, n) => c.write(response(`answer ${n} to ${head.split(' ')[1]}`))));
  const agent = testAgent();
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(await fetchText(agent, `${server.url}/r${i}`), { status: 200, text: `answer ${i} to /r${i}` });
    assert.equal(server.conns.length, 1);
    assert.equal(server.conns[0]!.requests.length, 3);
  } finally {
    agent.close();
    await server.close();
  }
});

test('Connection: close and an HTTP/1.0 answer without keep-alive are not reused; HTTP/1.0 keep-alive is', async () => {
  const answers = [
    response('a', { connection: 'close' }),
    Buffer.from('HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nb'),
    Buffer.from('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\nc'),
    response('d'),
  ];
  const server = await startRawServer(serveEach((_head, c, n) => c.write(answers[n]!)));
  const agent = testAgent();
  try {
    const texts: string[] = [];
    for (let i = 0; i < answers.length; i++) texts.push((await fetchText(agent, `${server.url}/${i}`)).text);
    assert.deepEqual(texts, ['a', 'b', 'c', 'd']);
    assert.deepEqual(server.conns.map((c) => c.requests.length), [1, 1, 2]);
    await server.conns[0]!.whenClosed;
    await server.conns[1]!.whenClosed;
  } finally {
    agent.close();
    await server.close();
  }
});

test('a kept-alive connection the server closed while idle is replaced without the caller noticing', async () => {
  const server = await startRawServer(
    serveEach(async (_head, c, n) => {
      await c.write(response(`answer ${n}`));
      if (n === 0) {
        await sleep(20);
        c.socket.end();
      }
    }),
  );
  const agent = testAgent();
  try {
    assert.equal((await fetchText(agent, `${server.url}/a`)).text, 'answer 0');
    await server.conns[0]!.whenClosed;
    assert.equal((await fetchText(agent, `${server.url}/b`)).text, 'answer 1');
    assert.equal(server.conns.length, 2);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a kept-alive connection that dies as the next request goes out is retried once, silently, on a fresh one', async () => {
  for (const how of ['close', 'reset'] as const) {
    const server = await startRawServer(async (c, index) => {
      if (index === 0) {
        await c.request();
        await c.write(response('first'));
        await c.request();
        // the server had given up on the connection just as our request arrived
        if (how === 'reset') c.socket.resetAndDestroy();
        else c.socket.destroy();
        return;
      }
      await serveEach((_head, conn) => conn.write(response('second')))(c);
    });
    const agent = testAgent();
    try {
      assert.equal((await fetchText(agent, `${server.url}/1`)).text, 'first');
      assert.equal((await fetchText(agent, `${server.url}/2`)).text, 'second', how);
      assert.deepEqual(server.conns.map((c) => c.requests.length), [2, 1], 'the request went out again on a new connection');
    } finally {
      agent.close();
      await server.close();
    }
  }
});

test('a fresh connection that fails is not retried silently: the caller hears of it', async () => {
  const server = await startRawServer(async (c) => {
    await c.request();
    c.socket.destroy();
  });
  const agent = testAgent();
  try {
    await assert.rejects(get(agent, `${server.url}/x`), withCode('AIRGAP_HTTP_PREMATURE_CLOSE', /closed the connection before answering/));
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a reused connection is not retried once part of the response came, nor after a headers timeout', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /first')) await c.write(response('ok'));
      else if (head.startsWith('GET /partial')) {
        await c.write('HTTP/1.1 200 OK\r\ncontent-');
        c.socket.destroy();
      }
      // else: never answers
    }),
  );
  const agent = testAgent({ headersMs: 200 });
  try {
    await fetchText(agent, `${server.url}/first`);
    await assert.rejects(get(agent, `${server.url}/partial`), withCode('AIRGAP_HTTP_PREMATURE_CLOSE'));
    assert.equal(server.conns.length, 1, 'no second try after response bytes');

    await fetchText(agent, `${server.url}/first`);
    const before = server.conns.length;
    await assert.rejects(get(agent, `${server.url}/silent`), withCode('AIRGAP_HTTP_HEADERS_TIMEOUT'));
    // waiting for a second timeout on a fresh connection would only double the time to the error
    assert.equal(server.conns.length, before, 'a server that does not answer is not a stale connection');
  } finally {
    agent.close();
    await server.close();
  }
});

test('more concurrent requests than connections: they queue, all complete, never more connections than the limit', async () => {
  const server = await startRawServer(
    serveEach(async (head, c) => {
      await sleep(30);
      await c.write(response(`for ${head.split(' ')[1]}`));
    }),
  );
  const agent = testAgent({ connections: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => fetchText(agent, `${server.url}/q${i}`)));
    assert.deepEqual(results.map((r) => r.text), Array.from({ length: 7 }, (_, i) => `for /q${i}`));
    assert.equal(server.maxOpen, 2);
    assert.equal(server.conns.length, 2, 'queued requests reuse the connections');
  } finally {
    agent.close();
    await server.close();
  }
});

test('the connection limit is per origin', async () => {
  let bSeen!: () => void;
  const bArrived = new Promise<void>((r) => (bSeen = r));
  const a = await startRawServer(
    serveEach(async (_head, c) => {
      await bArrived; // answers only once the other origin got its request
      await c.write(response('a'));
    }),
  );
  const b = await startRawServer(
    serveEach(async (_head, c) => {
      bSeen();
      await c.write(response('b'));
    }),
  );
  const agent = testAgent({ connections: 1 });
  try {
    const signal = AbortSignal.timeout(2000);
    const [ra, rb] = await Promise.all([fetchText(agent, `${a.url}/`, { signal }), fetchText(agent, `${b.url}/`, { signal })]);
    assert.deepEqual([ra.text, rb.text], ['a', 'b']);
  } finally {
    agent.close();
    await a.close();
    await b.close();
  }
});

/** Serves /hold as a 10-byte body whose second half waits for `release`; anything else at once. */
async function holdingServer() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = await startRawServer(
    serveEach(async (head, c) => {
      if (head.startsWith('GET /hold')) {
        await c.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfirst');
        await released;
        await c.write('-last');
      } else if (head.startsWith('GET /nohead')) {
        // silence
      } else await c.write(response(`answer to ${head.split(' ')[1]}`));
    }),
  );
  return { server, release };
}

test('abort before the request: AbortError, and no connection is made', async () => {
  const { server } = await holdingServer();
  const agent = testAgent();
  try {
    await assert.rejects(get(agent, `${server.url}/x`, { signal: AbortSignal.abort() }), isAbort);
    await sleep(20);
    assert.equal(server.conns.length, 0);
  } finally {
    agent.close();
    await server.close();
  }
});

test('abort while queued for a connection slot: AbortError at once; the slot holder carries on', async () => {
  const { server, release } = await holdingServer();
  const agent = testAgent({ connections: 1 });
  try {
    const held = await get(agent, `${server.url}/hold`);
    const ac = new AbortController();
    const queued = get(agent, `${server.url}/queued`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const t0 = performance.now();
    await assert.rejects(queued, isAbort);
    assert.ok(performance.now() - t0 < 500);
    release();
    assert.equal((await readAll(held.body)).toString(), 'first-last');
    assert.equal((await fetchText(agent, `${server.url}/after`, { signal: AbortSignal.timeout(2000) })).text, 'answer to /after');
    assert.equal(server.conns.length, 1);
    assert.deepEqual(server.conns[0]!.requests.map((r) => r.split(' ')[1]), ['/hold', '/after'], 'the aborted request never went out');
  } finally {
    agent.close();
    await server.close();
  }
});

test('abort while waiting for the head, or mid-body: AbortError and the connection is dropped', async () => {
  const { server } = await holdingServer();
  const agent = testAgent({ connections: 1 });
  try {
    const ac1 = new AbortController();
    setTimeout(() => ac1.abort(), 30);
    await assert.rejects(get(agent, `${server.url}/nohead`, { signal: ac1.signal }), isAbort);
    await server.conns[0]!.whenClosed;

    const ac2 = new AbortController();
    const res = await get(agent, `${server.url}/hold`, { signal: ac2.signal });
    let got = '';
    await assert.rejects(
      (async () => {
        for await (const c of res.body) {
          got += String(c);
          ac2.abort();
        }
      })(),
      isAbort,
    );
    assert.equal(got, 'first');
    await server.conns[1]!.whenClosed;
    assert.equal((await fetchText(agent, `${server.url}/next`, { signal: AbortSignal.timeout(2000) })).text, 'answer to /next', 'the slot was given back');
  } finally {
    agent.close();
    await server.close();
  }
});

test('aborting after the body ended changes nothing: the connection stays in the pool', async () => {
  const { server } = await holdingServer();
  const agent = testAgent();
  try {
    const ac = new AbortController();
    assert.equal((await fetchText(agent, `${server.url}/a`, { signal: ac.signal })).text, 'answer to /a');
    ac.abort();
    assert.equal((await fetchText(agent, `${server.url}/b`)).text, 'answer to /b');
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('one signal for many requests (a whole pack): no abort listener is left behind', async () => {
  const { server } = await holdingServer();
  const agent = testAgent({ connections: 2 });
  try {
    const ac = new AbortController();
    for (let i = 0; i < 5; i++) await fetchText(agent, `${server.url}/s${i}`, { signal: ac.signal });
    await Promise.all(Array.from({ length: 12 }, (_, i) => fetchText(agent, `${server.url}/c${i}`, { signal: ac.signal })));
    await get(agent, `${server.url}/h`, { method: 'HEAD', signal: ac.signal });
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a body its reader destroys mid-way drops the connection and frees the slot', async () => {
  const { server, release } = await holdingServer();
  const agent = testAgent({ connections: 1 });
  try {
    const res = await get(agent, `${server.url}/hold`);
    res.body.once('data', () => res.body.destroy());
    await server.conns[0]!.whenClosed;
    release();
    assert.equal((await fetchText(agent, `${server.url}/next`, { signal: AbortSignal.timeout(2000) })).text, 'answer to /next');
    assert.equal(server.conns.length, 2);
  } finally {
    agent.close();
    await server.close();
  }
});

test('an idle connection is closed after keepAliveMs', async () => {
  const { server } = await holdingServer();
  const agent = testAgent({ keepAliveMs: 100 });
  try {
    await fetchText(agent, `${server.url}/a`);
    const t0 = performance.now();
    await server.conns[0]!.whenClosed;
    assert.ok(performance.now() - t0 < 1000);
    assert.equal((await fetchText(agent, `${server.url}/b`)).text, 'answer to /b');
  } finally {
    agent.close();
    await server.close();
  }
});

test('close() ends requests in flight and queued ones, and opens nothing new', async () => {
  const { server } = await holdingServer();
  const agent = testAgent({ connections: 1 });
  try {
    const inFlight = get(agent, `${server.url}/nohead`);
    const queued = get(agent, `${server.url}/queued`);
    await sleep(30);
    agent.close();
    await assert.rejects(inFlight, withCode('AIRGAP_HTTP_PREMATURE_CLOSE'));
    await assert.rejects(
      Promise.race([queued, sleep(1000).then(() => 'still waiting')]).then((r) => {
        if (r === 'still waiting') assert.fail('the queued request still waits after close()');
      }),
      withCode('AIRGAP_HTTP_PREMATURE_CLOSE', /closed/),
    );
    await assert.rejects(get(agent, `${server.url}/later`), withCode('AIRGAP_HTTP_PREMATURE_CLOSE', /the HTTP client was closed/));
    await sleep(20);
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('an idle kept-alive connection does not keep the process running', async () => {
  const { server } = await holdingServer();
  const agentModule = fileURLToPath(new URL('../../../src/registry/h1/agent.js', import.meta.url));
  const script = `
    const { H1Agent } = await import(${JSON.stringify(agentModule)});
    const a = new H1Agent({ connectMs: 2000, headersMs: 2000, bodyIdleMs: 2000, connections: 2, keepAliveMs: 60000, tls: () => ({ rejectUnauthorized: true }) });
    const res = await a.request({ method: 'GET', url: new URL(${JSON.stringify(`${server.url}/child`)}), headers: {} });
    for await (const c of res.body) process.stdout.write(c);
  `;
  try {
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 5000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
    });
    assert.equal(out, 'answer to /child');
    assert.ok(performance.now() - t0 < 4000, 'exited without waiting for the keep-alive timeout');
    await server.conns[0]!.whenClosed;
  } finally {
    await server.close();
  }
});
