import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAll } from '../../src/content/verify-stream.js';
import { BundleReader } from '../../src/bundle/reader.js';
import { BundleDamagedError, NotABundleError } from '../../src/bundle/reader-errors.js';
import { NotATarError } from '../../src/bundle/tar-index-errors.js';
import { Digester } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-type.js';
import { buildTar, type TestTarEntry } from '../helpers/tar-writer.js';
import { makeBundle, makeTempDir, type BuiltBundle } from '../helpers/make-bundle.js';

let dir: string;
let cleanup: () => Promise<void>;
let bundle: BuiltBundle;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-reader-'));
  bundle = await makeBundle({ dir, name: 'good.tar', images: [
    { ref: 'registry.k8s.io/pause:3.9', role: 'pause' },
    { ref: 'docker.io/library/nginx:1.27', sharedBase: 'x' },
    { ref: 'registry.k8s.io/coredns/coredns:v1.11.3', platforms: ['linux/amd64'], docker: true, sharedBase: 'x' },
  ] });
});
after(async () => {
  await cleanup();
});

describe('BundleReader', () => {
  it('opens a bundle: metadata, index, images in index.json order', async () => {
    const r = await BundleReader.open(bundle.path);
    try {
      assert.equal(r.metadata?.formatVersion, 1);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.images().map((i) => i.name), ['docker.io/library/nginx:1.27', 'registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/pause:3.9']);
      assert.equal(r.blobDigests().length, bundle.metadata!.blobs.count);
      assert.equal(r.description, `bundle ${bundle.path}`);
    } finally {
      await r.close();
    }
  });

  it('resolves full names, familiar names, digests and name@digest', async () => {
    const r = await BundleReader.open(bundle.path);
    try {
      const nginx = bundle.images.find((i) => i.ref.includes('nginx'))!.descriptor;
      assert.equal((await r.resolve('docker.io/library/nginx:1.27')).digest, nginx.digest);
      assert.equal((await r.resolve('nginx:1.27')).digest, nginx.digest);
      assert.equal((await r.resolve(nginx.digest)).digest, nginx.digest);
      assert.equal((await r.resolve(`docker.io/library/nginx@${nginx.digest}`)).digest, nginx.digest);
      // a platform manifest by digest: not in index.json, found among the blobs
      const child = bundle.images[0]!.platforms[1]!.manifest;
      const d = await r.resolve(child.digest);
      assert.equal(d.mediaType, MediaType.OciManifest);
      assert.equal(d.size, child.size);
      await assert.rejects(r.resolve('registry.k8s.io/pause:3.8'), (e: Error & { code?: string; hint?: string }) =>
        e.code === 'ERR_NOT_FOUND' && /registry\.k8s\.io\/pause:3\.9/.test(e.hint ?? ''));
    } finally {
      await r.close();
    }
  });

  it('fetches blobs as verified range reads, also from an offset with the prefix hash', async () => {
    const r = await BundleReader.open(bundle.path);
    try {
      const layer = bundle.images[0]!.platforms[0]!.layers[1]!;
      const want = bundle.store.get(layer.digest)!;
      assert.deepEqual(await readAll(await r.fetch(layer), layer.size), want);
      const prefix = new Digester();
      prefix.update(want.subarray(0, 1000));
      assert.deepEqual(await readAll(await r.fetch(layer, { offset: 1000, prefix }), layer.size), want.subarray(1000));
      assert.equal(await r.exists(layer), true);
      assert.deepEqual(r.blobRange(layer.digest), bundle.blobRange(layer.digest));
      const m = await r.readManifest(bundle.images[0]!.platforms[0]!.manifest);
      assert.equal(m.kind, 'manifest');
      await assert.rejects(r.fetch({ ...layer, digest: `sha256:${'0'.repeat(64)}` as typeof layer.digest }), { code: 'ERR_NOT_FOUND' });
    } finally {
      await r.close();
    }
  });

  it('fails a fetch of a damaged blob with the digest named, at the end of the stream', async () => {
    const layer = bundle.images[0]!.platforms[0]!.layers[1]!;
    const damaged = await makeBundle({ dir, images: [{ ref: 'docker.io/library/nginx:1.27', sharedBase: 'x' }], damage: [{ kind: 'flip-byte', digest: layer.digest }] });
    const r = await BundleReader.open(damaged.path);
    try {
      await assert.rejects(readAll(await r.fetch(layer), layer.size), (e: Error & { code?: string }) => e.code === 'ERR_DIGEST_MISMATCH' && e.message.includes(layer.digest));
      // a descriptor with the wrong size fails too, rather than being cut to fit
      await assert.rejects(readAll(await r.fetch({ ...layer, size: layer.size - 1 }), layer.size), { code: 'ERR_SIZE_MISMATCH' });
    } finally {
      await r.close();
    }
  });

  it('strict open refuses damaged or hostile bundles; lenient open reads what it can', async () => {
    const cases = [
      { damage: [{ kind: 'truncate' as const, at: 'mid-last-layer' as const }], re: /is damaged: the archive ends at byte/ },
      { damage: [{ kind: 'symlink' as const }], re: /symbolic link/ },
      { damage: [{ kind: 'evil-path' as const }], re: /"\.\.\/evil" has a "\.\." component/ },
      { damage: [{ kind: 'replace' as const, name: 'index.json', data: Buffer.from('{not json') }], re: /index\.json is invalid/ },
    ];
    for (const c of cases) {
      const b = await makeBundle({ dir, damage: c.damage });
      await assert.rejects(BundleReader.open(b.path), (e: unknown) => e instanceof BundleDamagedError && e.kind === 'check' && c.re.test(e.message) && /airgap verify/.test(e.hint ?? ''));
      const lenient = await BundleReader.open(b.path, { strict: false });
      await lenient.close();
    }
  });

  it('reads other tools\' archives: no metadata, directory entries, a short ref.name', async () => {
    const b = await makeBundle({ dir, metadata: false, directories: true, images: [{ ref: 'registry.k8s.io/pause:3.9' }] });
    const r = await BundleReader.open(b.path);
    try {
      assert.equal(r.metadata, null);
      assert.equal(r.images().length, 1);
    } finally {
      await r.close();
    }
    // skopeo oci-archive:X:3.9 stores only the tag as ref.name
    const idx = { schemaVersion: 2, manifests: [{ ...b.images[0]!.descriptor, annotations: { 'org.opencontainers.image.ref.name': '3.9' } }] };
    const entries: TestTarEntry[] = [{ name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }, { name: 'index.json', data: Buffer.from(JSON.stringify(idx)) }];
    for (const e of b.entries.filter((x) => x.name.startsWith('blobs/'))) entries.push({ name: e.name, data: b.bytes.subarray(e.dataOffset, e.dataOffset + e.size) });
    const p = join(dir, 'short.tar');
    await writeFile(p, buildTar(entries).buffer);
    const s = await BundleReader.open(p);
    try {
      assert.equal((await s.resolve('3.9')).digest, b.images[0]!.descriptor.digest);
    } finally {
      await s.close();
    }
  });

  it('says what a file is when it is not a bundle (exit 3 errors)', async () => {
    const plain = join(dir, 'plain.tar');
    await writeFile(plain, buildTar([{ name: 'README', data: Buffer.from('hi') }]).buffer);
    await assert.rejects(BundleReader.open(plain), (e: unknown) => e instanceof NotABundleError && e.kind === 'io' && /a tar archive of 1 entry without an OCI image layout/.test(e.message));
    const docker = join(dir, 'docker.tar');
    await writeFile(docker, buildTar([{ name: 'manifest.json', data: Buffer.from('[]') }, { name: 'repositories', data: Buffer.from('{}') }]).buffer);
    await assert.rejects(BundleReader.open(docker), (e: unknown) => e instanceof NotABundleError && /docker save archive/.test(e.message) && /skopeo copy/.test(e.hint ?? ''));
    const gz = join(dir, 'x.tar.gz');
    await writeFile(gz, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
    await assert.rejects(BundleReader.open(gz), NotATarError);
  });
});
