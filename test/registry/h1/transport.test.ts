/**
 * What the registry client's users see of the HTTP/1.1 client through Transport: which failures
 * are retried silently, which are retried with an event, how they read in the final error. (The
 * generic retry, redirect and TLS-hint rules are in test/registry/transport.test.ts.)
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import type { RegistryEvent } from '../../../src/registry/events.js';
import { Transport, type TransportOptions } from '../../../src/registry/transport.js';
import type { Digest } from '../../../src/oci/digest.js';
import { MediaType } from '../../../src/oci/media-type.js';
import { FakeRegistry } from '../fake-registry.js';
import { bytes, testClient, visible } from '../helpers.js';
import { readAll, type CodedError } from './helpers.js';
import { response, serveEach, startRawServer } from './raw-server.js';

function transport(opts: Partial<TransportOptions> = {}): { t: Transport; events: RegistryEvent[] } {
  const events: RegistryEvent[] = [];
  const t = new Transport({
    insecure: new Set(),
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 1000 },
    timeouts: { connectMs: 2000, headersMs: 2000, bodyIdleMs: 2000 },
    connectionsPerOrigin: 2,
    userAgent: 'airgap-test',
    onEvent: (e) => events.push(e),
    ...opts,
  });
  return { t, events };
}

test('a stale kept-alive connection costs the caller nothing: no retry event, one answer', async () => {
  const server = await startRawServer(async (c, index) => {
    if (index === 0) {
      await c.request();
      await c.write(response('{"first":true}'));
      await c.request();
      c.socket.destroy(); // closed just as the next request arrived
      return;
    }
    await serveEach((_head, conn) => conn.write(response('{"second":true}')))(c);
  });
  const { t, events } = transport();
  try {
    const first = await t.send({ method: 'GET', url: `${server.url}/v2/`, what: 'ping' });
    assert.equal((await readAll(first.body)).toString(), '{"first":true}');
    const second = await t.send({ method: 'GET', url: `${server.url}/v2/a/manifests/1`, what: 'resolve a:1' });
    assert.equal(second.status, 200);
    assert.equal((await readAll(second.body)).toString(), '{"second":true}');
    assert.deepEqual(events.filter((e) => e.type === 'retry'), []);
    assert.match(server.conns[1]!.requests[0]!, /^GET \/v2\/a\/manifests\/1 HTTP\/1\.1\r\n/);
    assert.match(server.conns[1]!.requests[0]!, /\r\nuser-agent: airgap-test(\r\n|$)/);
  } finally {
    await t.close();
    await server.close();
  }
});

test('a registry that accepts and never answers: retried, then ERR_REGISTRY_UNAVAILABLE naming the timeout', async () => {
  const server = await startRawServer(async (c) => {
    await c.request(); // and silence
  });
  const { t, events } = transport({ timeouts: { connectMs: 2000, headersMs: 150, bodyIdleMs: 2000 } });
  try {
    await assert.rejects(t.send({ method: 'GET', url: `${server.url}/v2/a/manifests/1`, what: 'resolve a:1' }), (e: CodedError & { kind?: string }) => {
      assert.equal(e.code, 'ERR_REGISTRY_UNAVAILABLE');
      assert.equal(e.kind, 'remote');
      assert.match(e.message, /resolve a:1 failed after 3 attempts: .*no response from 127\.0\.0\.1:\d+ within 150 ms/);
      return true;
    });
    const retries = events.filter((e) => e.type === 'retry');
    assert.equal(retries.length, 2);
    assert.equal(server.conns.length, 3, 'each try on a connection of its own');
  } finally {
    await t.close();
    await server.close();
  }
});

test('something that is not an HTTP server: ERR_REGISTRY_UNAVAILABLE that says so', async () => {
  const server = await startRawServer(async (c) => {
    await c.request();
    await c.write('SSH-2.0-OpenSSH_9.2p1 Debian\r\n\r\n');
  });
  const { t } = transport({ retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 1000 } });
  try {
    await assert.rejects(t.send({ method: 'GET', url: `${server.url}/v2/`, what: 'ping' }), (e: CodedError) => {
      assert.equal(e.code, 'ERR_REGISTRY_UNAVAILABLE');
      assert.match(e.message, /not an HTTP\/1\.x response \(it starts "SSH-2\.0-OpenSSH/);
      return true;
    });
  } finally {
    await t.close();
    await server.close();
  }
});

test('a credential with a line break is never sent, and the error does not repeat it', async () => {
  const server = await startRawServer(serveEach((_head, c) => c.write(response('ok'))));
  const { t } = transport();
  const secret = 'tok-3f9a1c\r\nx-injected: yes';
  try {
    const err = await t
      .send({ method: 'GET', url: `${server.url}/v2/`, what: 'ping', authorization: { origin: server.url, value: `Bearer ${secret}` } })
      .then(() => assert.fail('sent'), (e: unknown) => e);
    assert.doesNotMatch(visible(err), /tok-3f9a1c/);
    assert.equal(server.conns.reduce((n, c) => n + c.requests.length + c.pending, 0), 0);
  } finally {
    await t.close();
    await server.close();
  }
});

test('a blob read slower than the stall timeout (a slow disk) is not restarted', async () => {
  const reg = await new FakeRegistry().start();
  const data = bytes(8 * 1024 * 1024, 21);
  const blob = reg.addBlob(data);
  const { client, events } = testClient({ mirrors: [`fake.test=${reg.url}`], timeouts: { bodyIdleMs: 150 } });
  try {
    const s = await client.repository('fake.test/a').fetch({ mediaType: MediaType.OciLayer, digest: blob.digest as Digest, size: blob.size });
    let n = 0;
    await pipeline(
      s,
      new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _enc, cb) {
          const before = n;
          n += chunk.length;
          // the writer stalls at the start and half way, each time longer than the body stall timeout
          if (before === 0 || (before < data.length / 2 && n >= data.length / 2)) setTimeout(cb, 350);
          else cb();
        },
      }),
    );
    assert.equal(n, data.length);
    assert.deepEqual(events.filter((e) => e.type === 'resume' || e.type === 'retry'), []);
    assert.equal(reg.requests('GET', '/blobs/').length, 1);
  } finally {
    await client.close();
    await reg.stop();
  }
});
