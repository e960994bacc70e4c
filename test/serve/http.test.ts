import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { ServeEvent } from '../../src/serve/events.js';
import { call, errorCode, type SpecErrors } from './http-client.js';
import { sha256, writeFixtureBundle, type FixtureBundle } from './fixture.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const ALL_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

let dir: string;
let fx: FixtureBundle;
let server: RunningServer;
const events: ServeEvent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-http-'));
  fx = await writeFixtureBundle(join(dir, 'b.tar'), [
    { ref: 'registry.k8s.io/pause:3.9', platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'], excluded: ['linux/s390x'], shared: true },
    { ref: 'registry.k8s.io/pause:3.10', platforms: ['linux/amd64'] },
    { ref: 'registry.k8s.io/etcd:3.5.15-0', shared: true, layerSize: 100_000 },
    { ref: 'docker.io/library/nginx:1.25', platforms: ['linux/amd64', 'linux/arm64'], docker: true },
    { ref: 'docker.io/library/nginx:1.26', docker: true },
    { ref: 'registry.k8s.io/coredns/coredns:v1.11.3' },
  ]);
  server = await startServer({ bundle: fx.path, addr: '127.0.0.1:0', onEvent: (e) => events.push(e) });
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const url = (path: string): string => `${server.url}${path}`;

describe('serve: the distribution API over a bundle', () => {
  it('answers /v2/ with 200, {} and the API version header', async () => {
    for (const path of ['/v2/', '/v2']) {
      const a = await call(url(path));
      assert.equal(a.status, 200);
      assert.equal(a.headers['docker-distribution-api-version'], 'registry/2.0');
      assert.deepEqual(a.json(), {});
    }
  });

  it('serves a manifest by tag with its media type, digest, length and ETag; HEAD matches without a body', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    const get = await call(url('/v2/registry.k8s.io/pause/manifests/3.9'), { headers: { accept: ALL_TYPES } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], OCI_INDEX);
    assert.equal(get.headers['docker-content-digest'], img.digest);
    assert.equal(get.headers.etag, `"${img.digest}"`);
    assert.equal(Number(get.headers['content-length']), img.size);
    assert.equal(sha256(get.body), img.digest);
    assert.deepEqual(get.body, fx.blobs.get(img.digest));

    const head = await call(url('/v2/registry.k8s.io/pause/manifests/3.9'), { method: 'HEAD', headers: { accept: ALL_TYPES } });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ['content-type', 'docker-content-digest', 'content-length', 'etag']) assert.equal(head.headers[h], get.headers[h], h);
  });

  it('serves platform manifests by digest, as containerd fetches them after the index', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    for (const p of img.platforms.filter((x) => x.included)) {
      const a = await call(url(`/v2/registry.k8s.io/pause/manifests/${p.manifest.digest}`), { headers: { accept: ALL_TYPES } });
      assert.equal(a.status, 200, p.platform);
      assert.equal(a.headers['content-type'], OCI_MANIFEST);
      assert.equal(a.headers['docker-content-digest'], p.manifest.digest);
      assert.deepEqual(a.body, p.manifest.bytes);
    }
  });

  it('serves Docker schema 2 lists and manifests with their Docker media types', async () => {
    const list = fx.image('docker.io/library/nginx:1.25');
    const a = await call(url('/v2/docker.io/library/nginx/manifests/1.25'), { headers: { accept: ALL_TYPES } });
    assert.equal(a.headers['content-type'], DOCKER_LIST);
    assert.equal(a.headers['docker-content-digest'], list.digest);
    const single = fx.image('docker.io/library/nginx:1.26');
    const b = await call(url('/v2/docker.io/library/nginx/manifests/1.26'), { headers: { accept: DOCKER_MANIFEST } });
    assert.equal(b.status, 200);
    assert.equal(b.headers['content-type'], DOCKER_MANIFEST);
    assert.equal(sha256(b.body), single.digest);
  });

  it('answers 304 to If-None-Match with the ETag', async () => {
    const img = fx.image('registry.k8s.io/pause:3.10');
    const a = await call(url('/v2/registry.k8s.io/pause/manifests/3.10'), { headers: { 'if-none-match': `"${img.digest}"` } });
    assert.equal(a.status, 304);
    assert.equal(a.body.length, 0);
    const blob = img.platforms[0]!.layers[0]!;
    const b = await call(url(`/v2/registry.k8s.io/pause/blobs/${blob}`), { headers: { 'if-none-match': `W/"x", "${blob}"` } });
    assert.equal(b.status, 304);
  });

  it('handles Accept: serves with no Accept or a wildcard, refuses an explicit list without the type like distribution', async () => {
    const path = url('/v2/registry.k8s.io/coredns/coredns/manifests/v1.11.3');
    assert.equal((await call(path)).status, 200);
    assert.equal((await call(path, { headers: { accept: '*/*' } })).status, 200);
    assert.equal((await call(path, { headers: { accept: `${OCI_MANIFEST}; q=0.5` } })).status, 200);
    assert.equal((await call(path, { headers: { accept: 'application/json' } })).status, 200);
    const refused = await call(path, { headers: { accept: `${DOCKER_MANIFEST}, ${DOCKER_LIST}` } });
    assert.equal(refused.status, 404);
    assert.equal(errorCode(refused), 'MANIFEST_UNKNOWN');
    assert.match(refused.json<SpecErrors>().errors[0]!.message, /OCI manifest found, but accept header does not support OCI manifests/);
  });

  it('serves blobs whole with digest, length, type and Accept-Ranges; HEAD has no body', async () => {
    const img = fx.image('registry.k8s.io/etcd:3.5.15-0');
    for (const d of [img.platforms[0]!.config, ...img.platforms[0]!.layers]) {
      const a = await call(url(`/v2/registry.k8s.io/etcd/blobs/${d}`));
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'application/octet-stream');
      assert.equal(a.headers['docker-content-digest'], d);
      assert.equal(a.headers['accept-ranges'], 'bytes');
      assert.equal(Number(a.headers['content-length']), fx.blobs.get(d)!.length);
      assert.equal(sha256(a.body), d);
      const h = await call(url(`/v2/registry.k8s.io/etcd/blobs/${d}`), { method: 'HEAD' });
      assert.equal(h.status, 200);
      assert.equal(h.body.length, 0);
      assert.equal(h.headers['content-length'], a.headers['content-length']);
    }
  });

  it('answers Range requests with 206 and Content-Range, and 416 for ranges outside the blob or malformed', async () => {
    const layer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[1]!;
    const bytes = fx.blobs.get(layer)!;
    const size = bytes.length;
    const path = url(`/v2/registry.k8s.io/etcd/blobs/${layer}`);
    const cases: [string, number, number][] = [['bytes=0-0', 0, 0], ['bytes=10-1009', 10, 1009], ['bytes=5000-', 5000, size - 1], ['bytes=-300', size - 300, size - 1], [`bytes=100-${size + 50}`, 100, size - 1]];
    for (const [range, start, end] of cases) {
      const a = await call(path, { headers: { range } });
      assert.equal(a.status, 206, range);
      assert.equal(a.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(Number(a.headers['content-length']), end - start + 1, range);
      assert.deepEqual(a.body, bytes.subarray(start, end + 1), range);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=9-3', 'bytes=abc', 'bytes=-0', 'bytes=']) {
      const a = await call(path, { headers: { range } });
      assert.equal(a.status, 416, range);
      assert.equal(a.headers['content-range'], `bytes */${size}`, range);
    }
    // Several ranges: the whole blob; another unit: ignored.
    const multi = await call(path, { headers: { range: 'bytes=0-1,5-6' } });
    assert.equal(multi.status, 200);
    assert.equal(sha256(multi.body), layer);
    assert.equal((await call(path, { headers: { range: 'items=0-1' } })).status, 200);
    // If-Range with another validator: the content changed, send it all.
    assert.equal((await call(path, { headers: { range: 'bytes=0-1', 'if-range': '"sha256:other"' } })).status, 200);
    assert.equal((await call(path, { headers: { range: 'bytes=0-1', 'if-range': `"${layer}"` } })).status, 206);
  });

  it('resumes a blob download with Range from where it stopped and the joined bytes verify', async () => {
    const layer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[1]!;
    const path = url(`/v2/registry.k8s.io/etcd/blobs/${layer}`);
    const first = await call(path, { headers: { range: 'bytes=0-40000' } });
    const rest = await call(path, { headers: { range: `bytes=${first.body.length}-` } });
    assert.equal(sha256(Buffer.concat([first.body, rest.body])), layer);
  });

  it('lists tags, with n/last pagination and a Link to the next page', async () => {
    const all = await call(url('/v2/registry.k8s.io/pause/tags/list'));
    assert.equal(all.status, 200);
    assert.deepEqual(all.json(), { name: 'registry.k8s.io/pause', tags: ['3.10', '3.9'] });
    const p1 = await call(url('/v2/registry.k8s.io/pause/tags/list?n=1'));
    assert.deepEqual(p1.json<{ tags: string[] }>().tags, ['3.10']);
    assert.equal(p1.headers.link, '</v2/registry.k8s.io/pause/tags/list?last=3.10&n=1>; rel="next"');
    const p2 = await call(url('/v2/registry.k8s.io/pause/tags/list?n=1&last=3.10'));
    assert.deepEqual(p2.json<{ tags: string[] }>().tags, ['3.9']);
    assert.equal(p2.headers.link, undefined);
    const none = await call(url('/v2/registry.k8s.io/pause/tags/list?n=0'));
    assert.deepEqual(none.json<{ tags: string[] }>().tags, []);
    const bad = await call(url('/v2/registry.k8s.io/pause/tags/list?n=-1'));
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'PAGINATION_NUMBER_INVALID');
  });

  it('lists the catalog in the layout load pushes, with pagination', async () => {
    const repos = ['docker.io/library/nginx', 'registry.k8s.io/coredns/coredns', 'registry.k8s.io/etcd', 'registry.k8s.io/pause'];
    const all = await call(url('/v2/_catalog'));
    assert.deepEqual(all.json(), { repositories: repos });
    const seen: string[] = [];
    let next: string | undefined = '/v2/_catalog?n=3';
    while (next) {
      const a = await call(url(next));
      seen.push(...a.json<{ repositories: string[] }>().repositories);
      next = /^<([^>]+)>; rel="next"$/.exec(String(a.headers.link ?? ''))?.[1];
    }
    assert.deepEqual(seen, repos);
  });

  it('maps containerd ?ns= requests without the registry in the path to the registry\'s repository', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    const a = await call(url('/v2/pause/manifests/3.9?ns=registry.k8s.io'), { headers: { accept: ALL_TYPES } });
    assert.equal(a.status, 200);
    assert.equal(a.headers['docker-content-digest'], img.digest);
    // override_path form: the registry already in the path, ns as well.
    const b = await call(url('/v2/registry.k8s.io/pause/manifests/3.9?ns=registry.k8s.io'), { headers: { accept: ALL_TYPES } });
    assert.equal(b.headers['docker-content-digest'], img.digest);
    const nginx = fx.image('docker.io/library/nginx:1.25');
    const c = await call(url('/v2/library/nginx/manifests/1.25?ns=docker.io'), { headers: { accept: ALL_TYPES } });
    assert.equal(c.headers['docker-content-digest'], nginx.digest);
    const layer = nginx.platforms[1]!.layers[0]!;
    const d = await call(url(`/v2/library/nginx/blobs/${layer}?ns=docker.io`));
    assert.equal(sha256(d.body), layer);
    const e = await call(url('/v2/pause/manifests/3.9'));
    assert.equal(e.status, 404);
    assert.equal(errorCode(e), 'NAME_UNKNOWN');
  });

  it('answers unknown names, tags, blobs and bad digests with spec error bodies', async () => {
    const expectError = async (path: string, status: number, code: string): Promise<SpecErrors> => {
      const a = await call(url(path));
      assert.equal(a.status, status, path);
      assert.match(String(a.headers['content-type']), /^application\/json/, path);
      assert.equal(errorCode(a), code, path);
      return a.json<SpecErrors>();
    };
    await expectError('/v2/registry.k8s.io/nope/manifests/1', 404, 'NAME_UNKNOWN');
    await expectError('/v2/registry.k8s.io/nope/blobs/sha256:' + '0'.repeat(64), 404, 'NAME_UNKNOWN');
    await expectError('/v2/registry.k8s.io/nope/tags/list', 404, 'NAME_UNKNOWN');
    await expectError('/v2/registry.k8s.io/pause/manifests/3.8', 404, 'MANIFEST_UNKNOWN');
    await expectError('/v2/registry.k8s.io/pause/manifests/sha256:' + '0'.repeat(64), 404, 'MANIFEST_UNKNOWN');
    await expectError('/v2/registry.k8s.io/pause/blobs/sha256:' + '0'.repeat(64), 404, 'BLOB_UNKNOWN');
    await expectError('/v2/registry.k8s.io/pause/blobs/sha256:abc', 400, 'DIGEST_INVALID');
    await expectError('/v2/registry.k8s.io/pause/manifests/sha256:abc', 400, 'DIGEST_INVALID');
    // A blob of another repository is not served through this one, as in a registry.
    const etcdLayer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[1]!;
    await expectError(`/v2/registry.k8s.io/pause/blobs/${etcdLayer}`, 404, 'BLOB_UNKNOWN');
    // A layer digest through the manifests endpoint is not a manifest.
    await expectError(`/v2/registry.k8s.io/etcd/manifests/${etcdLayer}`, 404, 'MANIFEST_UNKNOWN');
    const other = await call(url('/nope'));
    assert.equal(other.status, 404);
  });

  it('answers a platform left out at pack time with MANIFEST_UNKNOWN naming why, and its blobs with BLOB_UNKNOWN', async () => {
    const left = fx.image('registry.k8s.io/pause:3.9').platforms.find((p) => !p.included)!;
    const a = await call(url(`/v2/registry.k8s.io/pause/manifests/${left.manifest.digest}`));
    assert.equal(a.status, 404);
    const err = a.json<SpecErrors>().errors[0]!;
    assert.equal(err.code, 'MANIFEST_UNKNOWN');
    assert.match(err.message, /linux\/s390x of registry\.k8s\.io\/pause:3\.9 was left out of this bundle/);
    const ownLayer = left.layers[left.layers.length - 1]!;
    const b = await call(url(`/v2/registry.k8s.io/pause/blobs/${ownLayer}`));
    assert.equal(b.status, 404);
    assert.equal(errorCode(b), 'BLOB_UNKNOWN');
    assert.ok(events.some((e) => e.event === 'warning' && e.code === 'excluded-platform'), 'startup warns about the platform left out');
  });

  it('refuses every write with 405 UNSUPPORTED and closes the connection instead of reading an upload', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    const writes: [string, string][] = [
      ['POST', '/v2/registry.k8s.io/pause/blobs/uploads/'],
      ['PUT', '/v2/registry.k8s.io/pause/manifests/3.11'],
      ['DELETE', `/v2/registry.k8s.io/pause/manifests/${img.digest}`],
      ['PATCH', '/v2/registry.k8s.io/pause/blobs/uploads/abc'],
      ['GET', '/v2/registry.k8s.io/pause/blobs/uploads/abc'],
      ['DELETE', `/v2/registry.k8s.io/pause/blobs/${img.platforms[0]!.config}`],
    ];
    for (const [method, path] of writes) {
      const a = await call(url(path), { method, body: method === 'GET' || method === 'DELETE' ? undefined : Buffer.alloc(1000) });
      assert.equal(a.status, 405, `${method} ${path}`);
      assert.equal(errorCode(a), 'UNSUPPORTED');
      assert.equal(a.headers.allow, 'GET, HEAD');
      assert.equal(a.headers.connection, 'close');
    }
    // Nothing changed.
    const still = await call(url(`/v2/registry.k8s.io/pause/manifests/${img.digest}`));
    assert.equal(still.status, 200);
  });

  it('keeps connections alive across many requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    agent.on('free', (s) => ports.add(s.localPort ?? 0));
    try {
      for (let i = 0; i < 20; i++) {
        const a = await call(url('/v2/registry.k8s.io/pause/manifests/3.9'), { agent, method: i % 2 ? 'HEAD' : 'GET' });
        assert.equal(a.status, 200);
      }
      assert.equal(ports.size, 1, 'every request went over the same connection');
    } finally {
      agent.destroy();
    }
  });

  it('logs one request event per request with status and bytes', async () => {
    const before = events.length;
    const layer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[1]!;
    await call(url(`/v2/registry.k8s.io/etcd/blobs/${layer}`));
    await new Promise((r) => setImmediate(r));
    const e = events.slice(before).find((x) => x.event === 'request');
    assert.ok(e && e.event === 'request');
    assert.equal(e.status, 200);
    assert.equal(e.bytes, fx.blobs.get(layer)!.length);
    assert.equal(e.path, `/v2/registry.k8s.io/etcd/blobs/${layer}`);
  });
});

describe('serve: --prefix', () => {
  let prefixed: RunningServer;
  before(async () => {
    prefixed = await startServer({ bundle: fx.path, addr: '127.0.0.1:0', prefix: '/mirror/k8s/' });
  });
  after(async () => {
    await prefixed?.close();
  });

  it('serves every repository under the prefix, ns= included, and the hosts.toml points there', async () => {
    const img = fx.image('registry.k8s.io/pause:3.9');
    const a = await call(`${prefixed.url}/v2/mirror/k8s/registry.k8s.io/pause/manifests/3.9`);
    assert.equal(a.headers['docker-content-digest'], img.digest);
    const b = await call(`${prefixed.url}/v2/pause/manifests/3.9?ns=registry.k8s.io`);
    assert.equal(b.headers['docker-content-digest'], img.digest);
    assert.equal((await call(`${prefixed.url}/v2/registry.k8s.io/pause/manifests/3.9`)).status, 404);
    const cat = await call(`${prefixed.url}/v2/_catalog`);
    assert.ok(cat.json<{ repositories: string[] }>().repositories.every((r) => r.startsWith('mirror/k8s/')));
    assert.match(prefixed.hostsToml('registry.k8s.io'), new RegExp(`\\[host\\."${prefixed.url}/v2/mirror/k8s/registry\\.k8s\\.io"\\]`));
  });
});

describe('serve: registries with a port', () => {
  it('serves them where load pushes them (":" as "_"), by path and by ?ns=, and the hosts.toml says so', async () => {
    const ported = await writeFixtureBundle(join(dir, 'ported.tar'), [{ ref: '127.0.0.1:5000/team/app:1' }]);
    const s = await startServer({ bundle: ported.path, addr: '127.0.0.1:0' });
    try {
      const digest = ported.image('127.0.0.1:5000/team/app:1').digest;
      assert.deepEqual((await call(`${s.url}/v2/_catalog`)).json(), { repositories: ['127.0.0.1_5000/team/app'] });
      assert.equal((await call(`${s.url}/v2/127.0.0.1_5000/team/app/manifests/1`)).headers['docker-content-digest'], digest);
      assert.equal((await call(`${s.url}/v2/team/app/manifests/1?ns=127.0.0.1:5000`)).headers['docker-content-digest'], digest);
      assert.deepEqual(s.registries, ['127.0.0.1:5000']);
      assert.match(s.hostsToml('127.0.0.1:5000'), /^server = "https:\/\/127\.0\.0\.1:5000"$/m);
      assert.ok(s.hostsToml('127.0.0.1:5000').includes(`[host."${s.url}/v2/127.0.0.1_5000"]`));
    } finally {
      await s.close();
    }
  });
});

describe('serve: startup', () => {
  it('refuses a bundle whose manifest does not match its digest, naming the image', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const { BundleReader } = await import('../../src/bundle/reader.js');
    const damaged = join(dir, 'damaged.tar');
    const bytes = await readFile(fx.path);
    const reader = await BundleReader.open(fx.path);
    const target = fx.image('registry.k8s.io/etcd:3.5.15-0').digest;
    const range = reader.blobRange(target)!;
    await reader.close();
    bytes[range.offset + 20] ^= 0x01;
    await writeFile(damaged, bytes);
    await assert.rejects(startServer({ bundle: damaged, addr: '127.0.0.1:0' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_SERVE_BAD_MANIFEST');
      assert.match(e.message, /registry\.k8s\.io\/etcd:3\.5\.15-0/);
      assert.match(e.message, new RegExp(target));
      return true;
    });
  });

  it('aborts a blob answer the bundle file can no longer complete instead of ending it short', async () => {
    const { copyFile, truncate } = await import('node:fs/promises');
    const copy = join(dir, 'shrinking.tar');
    await copyFile(fx.path, copy);
    const s = await startServer({ bundle: copy, addr: '127.0.0.1:0' });
    try {
      const layer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[1]!;
      const { BundleReader } = await import('../../src/bundle/reader.js');
      const reader = await BundleReader.open(copy);
      const range = reader.blobRange(layer)!;
      await reader.close();
      await truncate(copy, range.offset + 1000);
      await assert.rejects(call(`${s.url}/v2/registry.k8s.io/etcd/blobs/${layer}`, { timeoutMs: 3000 }), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, 'ECONNRESET', e.message);
        return true;
      });
    } finally {
      await s.close();
    }
  });

  it('names the address when it is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(startServer({ bundle: fx.path, addr: `127.0.0.1:${port}` }), (e: Error & { code?: string; hint?: string }) => {
        assert.equal(e.code, 'ERR_SERVE_LISTEN');
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}: the address is in use`));
        assert.match(e.hint ?? '', /--addr/);
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it('serves only images with full names, and refuses a bundle that has none', async () => {
    const mixed = await writeFixtureBundle(join(dir, 'mixed.tar'), [
      { ref: 'registry.k8s.io/pause:3.9' },
      { ref: 'registry.k8s.io/etcd:3.5.15-0', annotations: { 'org.opencontainers.image.ref.name': '3.5.15-0' } },
    ]);
    const seen: ServeEvent[] = [];
    const s = await startServer({ bundle: mixed.path, addr: '127.0.0.1:0', onEvent: (e) => seen.push(e) });
    try {
      assert.deepEqual(s.images.map((i) => i.ref), ['registry.k8s.io/pause:3.9']);
      const w = seen.find((e) => e.event === 'warning' && e.code === 'unnamed-image');
      assert.ok(w && w.event === 'warning');
      assert.match(w.message, /named only "3\.5\.15-0", not a full image name; it is not served/);
    } finally {
      await s.close();
    }
    const unnamed = await writeFixtureBundle(join(dir, 'unnamed.tar'), [
      { ref: 'registry.k8s.io/etcd:3.5.15-0', annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
    ]);
    await assert.rejects(startServer({ bundle: unnamed.path, addr: '127.0.0.1:0' }), { code: 'ERR_SERVE_NO_IMAGES' });
  });

  it('starts on a bundle missing a layer, names the image, and answers BLOB_UNKNOWN for it', async () => {
    const holed = await writeFixtureBundle(join(dir, 'holed.tar'), [
      { ref: 'registry.k8s.io/pause:3.9' },
      { ref: 'registry.k8s.io/etcd:3.5.15-0', dropLayer: true },
    ]);
    const seen: ServeEvent[] = [];
    const s = await startServer({ bundle: holed.path, addr: '127.0.0.1:0', onEvent: (e) => seen.push(e) });
    try {
      const w = seen.find((e) => e.event === 'warning' && e.code === 'missing-blob');
      assert.ok(w && w.event === 'warning');
      const layer = holed.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[0]!;
      assert.match(w.message, /registry\.k8s\.io\/etcd:3\.5\.15-0: 1 blob\(s\) its manifests reference are not in the bundle/);
      assert.ok(w.message.includes(layer));
      const a = await call(`${s.url}/v2/registry.k8s.io/etcd/blobs/${layer}`);
      assert.equal(a.status, 404);
      assert.equal(errorCode(a), 'BLOB_UNKNOWN');
      assert.equal((await call(`${s.url}/v2/registry.k8s.io/pause/manifests/3.9`)).status, 200);
    } finally {
      await s.close();
    }
  });

  it('refuses a file that is not a bundle', async () => {
    const { writeFile } = await import('node:fs/promises');
    const junk = join(dir, 'junk.tar');
    await writeFile(junk, Buffer.alloc(4096, 7));
    await assert.rejects(startServer({ bundle: junk, addr: '127.0.0.1:0' }), (e: Error & { code?: string }) => {
      assert.ok(e.code?.startsWith('ERR_'), String(e.code));
      return true;
    });
  });
});
