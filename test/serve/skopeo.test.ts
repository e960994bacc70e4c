import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir } from '../helpers/make-bundle.js';
import { execa } from 'execa';
import { makeCa, makeServerCert } from '../../scripts/lab/certs.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { call } from './http-client.js';
import { sha256, writeFixtureBundle, type FixtureBundle, type FixtureImage } from './fixture.js';

/**
 * skopeo (containers/image) as the independent oracle: it copies every image out of `airgap
 * serve` with --all --preserve-digests, and what lands must be the bundle's bytes, digest for digest.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let dir: string;
let fx: FixtureBundle;
let server: RunningServer;

before(async () => {
  tmp = await makeTempDir('airgap-serve-skopeo-');
  dir = tmp.dir;
  fx = await writeFixtureBundle(join(dir, 'b.tar'), [
    { ref: 'registry.k8s.io/pause:3.9', platforms: ['linux/amd64', 'linux/arm64', 'linux/ppc64le'], shared: true },
    { ref: 'registry.k8s.io/kube-proxy:v1.30.14', platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'], excluded: ['linux/s390x'], shared: true },
    { ref: 'registry.k8s.io/coredns/coredns:v1.11.3', platforms: ['linux/amd64', 'linux/arm64'], docker: true, shared: true },
    { ref: 'registry.k8s.io/etcd:3.5.15-0', layerSize: 300_000 },
    { ref: 'docker.io/library/nginx:1.25', docker: true },
  ]);
  server = await startServer({ bundle: fx.path, addr: '127.0.0.1:0' });
});

after(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const isOci = (img: FixtureImage): boolean => img.mediaType.startsWith('application/vnd.oci.');

/** What skopeo --all should copy: the top manifest and every included platform's content. */
function expectedBlobs(img: FixtureImage): Set<string> {
  const s = new Set<string>([img.digest]);
  for (const p of img.platforms.filter((x) => x.included)) {
    s.add(p.manifest.digest);
    s.add(p.config);
    for (const l of p.layers) s.add(l);
  }
  return s;
}

async function skopeo(args: string[]): Promise<string> {
  // Temp files in the test dir, removed with it.
  const r = await execa('skopeo', args, { env: { TMPDIR: dir }, stdin: 'ignore', timeout: 60_000 });
  return r.stdout;
}

describe('serve: skopeo copies every image out with the bundle\'s digests', () => {
  for (const ref of ['registry.k8s.io/pause:3.9', 'registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/etcd:3.5.15-0', 'docker.io/library/nginx:1.25']) {
    it(`copies ${ref} --all --preserve-digests`, async () => {
      const img = fx.image(ref);
      const src = `docker://${server.url.replace(/^https?:\/\//, '')}/${ref}`;
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', src]);
      assert.equal(sha256(Buffer.from(raw)), img.digest, 'inspect --raw gives the bundle\'s top manifest');

      const out = join(dir, `out-${ref.replace(/[/:]/g, '_')}`);
      // skopeo's oci: layout cannot hold Docker manifest lists unconverted; dir: can.
      const dest = isOci(img) ? `oci:${out}:${ref}` : `dir:${out}`;
      await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--retry-times', '0', src, dest]);

      const got = new Map<string, Buffer>();
      if (isOci(img)) {
        const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
        assert.equal(index.manifests[0]!.digest, img.digest);
        for (const hex of await readdir(join(out, 'blobs', 'sha256'))) got.set(`sha256:${hex}`, await readFile(join(out, 'blobs', 'sha256', hex)));
      } else {
        const top = await readFile(join(out, 'manifest.json'));
        assert.equal(sha256(top), img.digest);
        got.set(img.digest, top);
        for (const f of await readdir(out)) {
          if (/^[0-9a-f]{64}$/.test(f)) got.set(`sha256:${f}`, await readFile(join(out, f)));
          const m = /^([0-9a-f]{64})\.manifest\.json$/.exec(f);
          if (m) got.set(`sha256:${m[1]}`, await readFile(join(out, f)));
        }
      }
      for (const [d, bytes] of got) assert.equal(sha256(bytes), d, `${d} as copied hashes to its name`);
      assert.deepEqual(new Set(got.keys()), expectedBlobs(img));
    });
  }

  it('copies one platform of a filtered index, and --all names the platform left out', async () => {
    const img = fx.image('registry.k8s.io/kube-proxy:v1.30.14');
    const src = `docker://${server.url.replace(/^http:\/\//, '')}/registry.k8s.io/kube-proxy:v1.30.14`;
    const arm = img.platforms.find((p) => p.platform === 'linux/arm64')!;
    const out = join(dir, 'out-kube-proxy-arm64');
    await skopeo(['copy', '--override-arch', 'arm64', '--src-tls-verify=false', src, `dir:${out}`]);
    assert.equal(sha256(await readFile(join(out, 'manifest.json'))), arm.manifest.digest);
    await assert.rejects(skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--retry-times', '0', src, `dir:${join(dir, 'out-all')}`]),
      (e: Error & { stderr?: string }) => /linux\/s390x of registry\.k8s\.io\/kube-proxy:v1\.30\.14 was left out of this bundle/.test(e.stderr ?? ''));
  });

  it('lists tags through skopeo', async () => {
    const out = await skopeo(['list-tags', '--tls-verify=false', `docker://${server.url.replace(/^http:\/\//, '')}/registry.k8s.io/pause`]);
    assert.deepEqual((JSON.parse(out) as { Tags: string[] }).Tags, ['3.9']);
  });
});

describe('serve: TLS', () => {
  let tlsServer: RunningServer;
  let caFile: string;
  let certDir: string;
  before(async () => {
    const certs = join(dir, 'certs');
    await mkdir(certs);
    const ca = await makeCa(certs);
    const cert = await makeServerCert(certs, ca);
    caFile = ca.certFile;
    certDir = join(dir, 'cert-dir');
    await mkdir(certDir);
    await copyFile(ca.certFile, join(certDir, 'ca.crt'));
    tlsServer = await startServer({ bundle: fx.path, addr: '127.0.0.1:0', tls: { cert: cert.certFile, key: cert.keyFile } });
  });
  after(async () => {
    await tlsServer?.close();
  });

  it('serves HTTPS that a client trusting the CA verifies, and skopeo copies through it', async () => {
    assert.match(tlsServer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const a = await call(`${tlsServer.url}/v2/`, { ca: await readFile(caFile, 'utf8') });
    assert.equal(a.status, 200);
    const img = fx.image('registry.k8s.io/etcd:3.5.15-0');
    const raw = await skopeo(['inspect', '--raw', '--cert-dir', certDir, `docker://${tlsServer.url.replace(/^https:\/\//, '')}/registry.k8s.io/etcd:3.5.15-0`]);
    assert.equal(sha256(Buffer.from(raw)), img.digest);
    assert.match(tlsServer.hostsToml('registry.k8s.io'), /\[host\."https:\/\/127\.0\.0\.1:\d+\/v2\/registry\.k8s\.io"\]/);
  });

  it('refuses a key that is not a PEM key', async () => {
    await assert.rejects(startServer({ bundle: fx.path, addr: '127.0.0.1:0', tls: { cert: caFile, key: caFile } }), { code: 'ERR_SERVE_TLS' });
    await assert.rejects(startServer({ bundle: fx.path, addr: '127.0.0.1:0', tls: { cert: caFile, key: join(dir, 'none.key') } }),
      (e: Error & { code?: string; kind?: string }) => e.code === 'ERR_SERVE_TLS' && e.kind === 'io' && /none\.key/.test(e.message));
  });
});
