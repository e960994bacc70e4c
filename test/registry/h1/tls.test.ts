import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { makeCa, makeServerCert, type CertFiles } from '../../../scripts/lab/certs.js';
import type { TlsSettings } from '../../../src/registry/h1/connection.js';
import { fetchText, get, readAll, testAgent, withCode } from './helpers.js';
import { response, serveEach, startRawServer, type RawServer } from './raw-server.js';

let dir: string;
let selfSigned: { key: string; cert: string };
let ca: CertFiles;
let signed: { key: string; cert: string };
let otherName: { key: string; cert: string };

const pems = async (c: CertFiles): Promise<{ key: string; cert: string }> => ({ key: await readFile(c.keyFile, 'utf8'), cert: c.certPem });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-h1-tls-'));
  // a self-signed server certificate that names 127.0.0.1: trusted only when given as `ca`
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', 'self.key', '-out', 'self.crt', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { cwd: dir, stdin: 'ignore' });
  selfSigned = { key: await readFile(join(dir, 'self.key'), 'utf8'), cert: await readFile(join(dir, 'self.crt'), 'utf8') };
  ca = await makeCa(dir, 'h1-test-ca');
  signed = await pems(await makeServerCert(dir, ca));
  otherName = await pems(await makeServerCert(dir, ca, { name: 'other', sans: ['DNS:registry.example.org'] }));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An HTTPS server answering every request with its path and the SNI name the client sent. */
function httpsServer(cert: { key: string; cert: string }): Promise<RawServer> {
  return startRawServer(
    serveEach((head, c) => c.write(response(`${head.split(' ')[1]} sni=${(c.socket as TLSSocket).servername || '-'}`))),
    cert,
  );
}

async function withServer(cert: { key: string; cert: string }, fn: (s: RawServer) => Promise<void>): Promise<void> {
  const s = await httpsServer(cert);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

function tlsAgent(settings: TlsSettings, opts: Parameters<typeof testAgent>[0] = {}) {
  const seen: string[] = [];
  const agent = testAgent({
    ...opts,
    tls: (url) => {
      seen.push(url.host);
      return settings;
    },
  });
  return { agent, seen };
}

test('a self-signed certificate is refused when verifying, accepted without verification or when given as CA', async () => {
  await withServer(selfSigned, async (server) => {
    const strict = tlsAgent({ rejectUnauthorized: true });
    const insecure = tlsAgent({ rejectUnauthorized: false });
    const pinned = tlsAgent({ rejectUnauthorized: true, ca: [selfSigned.cert] });
    try {
      await assert.rejects(get(strict.agent, `${server.url}/v2/`), withCode('DEPTH_ZERO_SELF_SIGNED_CERT'));
      assert.equal(server.conns.length, 0, 'no HTTP request reached the server');
      assert.deepEqual(strict.seen, [server.host], 'the TLS settings are asked for per origin');
      assert.deepEqual(await fetchText(insecure.agent, `${server.url}/v2/`), { status: 200, text: '/v2/ sni=-' });
      assert.deepEqual(await fetchText(pinned.agent, `${server.url}/v2/x`), { status: 200, text: '/v2/x sni=-' });
    } finally {
      strict.agent.close();
      insecure.agent.close();
      pinned.agent.close();
    }
  });
});

test('a certificate from a private CA: refused without the CA, accepted with it; the host name is checked', async () => {
  await withServer(signed, async (server) => {
    const noCa = tlsAgent({ rejectUnauthorized: true });
    const withCa = tlsAgent({ rejectUnauthorized: true, ca: [ca.certPem] });
    try {
      await assert.rejects(get(noCa.agent, `${server.url}/`), withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'));
      assert.deepEqual(await fetchText(withCa.agent, `${server.url}/by-ip`), { status: 200, text: '/by-ip sni=-' });
      // by name: SNI carries it (registries behind name-routing proxies need it)
      assert.deepEqual(await fetchText(withCa.agent, `https://localhost:${server.port}/by-name`), { status: 200, text: '/by-name sni=localhost' });
    } finally {
      noCa.agent.close();
      withCa.agent.close();
    }
  });
  await withServer(otherName, async (server) => {
    const withCa = tlsAgent({ rejectUnauthorized: true, ca: [ca.certPem] });
    try {
      await assert.rejects(get(withCa.agent, `${server.url}/`), withCode('ERR_TLS_CERT_ALTNAME_INVALID', /127\.0\.0\.1/));
    } finally {
      withCa.agent.close();
    }
  });
});

test('over TLS: keep-alive reuse and a large body read exactly, with backpressure', async () => {
  const big = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  const server = await startRawServer(
    serveEach((head, c) => c.write(head.startsWith('GET /big') ? response(big) : response('small'))),
    signed,
  );
  const { agent } = tlsAgent({ rejectUnauthorized: true, ca: [ca.certPem] });
  try {
    const res = await get(agent, `${server.url}/big`);
    await new Promise((r) => setTimeout(r, 100)); // let the body fill up and the socket pause
    // The body hands on reads as they came (object mode): at most a few reads of at most one slab each.
    assert.ok(res.body.readableObjectMode && res.body.readableLength <= 8, `the body buffered ${res.body.readableLength} reads`);
    assert.ok((await readAll(res.body)).equals(big));
    assert.deepEqual(await fetchText(agent, `${server.url}/small`), { status: 200, text: 'small' });
    assert.equal(server.conns.length, 1);
  } finally {
    agent.close();
    await server.close();
  }
});

test('a TLS handshake that never completes is AIRGAP_HTTP_CONNECT_TIMEOUT', async () => {
  const silent = await startRawServer(() => {}); // accepts TCP, never speaks
  const { agent } = tlsAgent({ rejectUnauthorized: true }, { connectMs: 200 });
  try {
    const t0 = performance.now();
    await assert.rejects(get(agent, `https://${silent.host}/`), withCode('AIRGAP_HTTP_CONNECT_TIMEOUT', new RegExp(`no connection to ${silent.host.replace(/\./g, '\\.')} within 200 ms`)));
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 190 && elapsed < 1500, `${Math.round(elapsed)} ms`);
    await silent.conns[0]!.whenClosed;
    // and an abort while connecting ends the wait at once
    const patient = tlsAgent({ rejectUnauthorized: true }, { connectMs: 5000 });
    try {
      const t1 = performance.now();
      await assert.rejects(get(patient.agent, `https://${silent.host}/`, { signal: AbortSignal.timeout(100) }), (e: Error) => e.name === 'TimeoutError');
      assert.ok(performance.now() - t1 < 1000);
      await silent.conns[1]!.whenClosed;
    } finally {
      patient.agent.close();
    }
  } finally {
    agent.close();
    await silent.close();
  }
});

test('over TLS: a body whose last records arrive after the socket was told to stop still leaves the connection reading for the next request', async () => {
  // TLS hands over records it already decrypted even after the client stopped reading: the body
  // can end while the socket is stopped. The kept-alive connection must read again, or the next
  // request on it never sees its answer (seen with the real registry: a POST after a streamed GET).
  const body = Buffer.alloc(512 * 1024, 7);
  const server = await startRawServer(serveEach((head, c) => c.write(head.startsWith('GET /big') ? response(body) : response('next'))), signed);
  const { agent } = tlsAgent({ rejectUnauthorized: true, ca: [ca.certPem] }, { headersMs: 1000 });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await get(agent, `${server.url}/big`);
      await new Promise((r) => setTimeout(r, 50)); // all of it is in the kernel; the client reads 4 chunks and stops
      let n = 0;
      for await (const c of res.body) {
        n += (c as Buffer).length;
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(n, body.length);
      assert.deepEqual(await fetchText(agent, `${server.url}/next`), { status: 200, text: 'next' }, `round ${i}`);
    }
    assert.equal(server.conns.length, 1, 'one kept-alive connection throughout');
  } finally {
    agent.close();
    await server.close();
  }
});
