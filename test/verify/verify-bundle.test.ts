import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import type { CheckName, Finding, VerifyReport } from '../../src/verify/report.js';
import { buildTar, type TestTarEntry } from '../helpers/tar-writer.js';
import { makeBundle, makeTempDir, pseudoRandom, type BuiltBundle, type MakeBundleOptions } from '../helpers/make-bundle.js';

let dir: string;
let cleanup: () => Promise<void>;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-verify-bundle-'));
});
after(async () => {
  await cleanup();
});

async function build(opts: MakeBundleOptions = {}): Promise<BuiltBundle> {
  return makeBundle({ dir, ...opts });
}

function errors(r: VerifyReport, check?: CheckName): Finding[] {
  return r.checks.filter((c) => !check || c.name === check).flatMap((c) => c.findings.filter((f) => f.severity === 'error'));
}

function check(r: VerifyReport, name: CheckName) {
  return r.checks.find((c) => c.name === name)!;
}

describe('verifyBundle: a sound bundle', () => {
  it('passes every check and hashes every byte of every blob', async () => {
    const b = await build();
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.deepEqual(r.checks.map((c) => [c.name, c.status]), [
      ['structure', 'pass'], ['layout', 'pass'], ['metadata', 'pass'], ['integrity', 'pass'],
      ['graph', 'pass'], ['platforms', 'pass'], ['docker', 'skip'], ['list', 'skip'], ['kubernetes', 'skip'],
    ]);
    assert.equal(r.summary.blobs, b.metadata!.blobs.count);
    assert.equal(r.summary.bytesHashed, b.metadata!.blobs.size);
    assert.equal(r.bundle?.kind, 'airgap');
    assert.deepEqual(r.images.map((i) => [i.ref, i.platforms.map((p) => `${p.platform}=${p.status}`).join(' ')]), [
      ['registry.k8s.io/coredns/coredns:v1.11.3', 'linux/amd64=present'],
      ['registry.k8s.io/kube-proxy:v1.30.14', 'linux/amd64=present linux/arm64=present'],
      ['registry.k8s.io/pause:3.9', 'linux/amd64=present linux/arm64=present'],
    ]);
    assert.deepEqual(r.platformMatrix.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(r.platformMatrix.rows[0]!.cells['linux/arm64'], 'not-offered');
  });

  it('hashes in worker threads when asked (large bundles) with the same result', async () => {
    const b = await build({ images: [{ ref: 'registry.k8s.io/etcd:3.5.15-0', layers: 6, layerSize: 64 * 1024 }] });
    const r = await verifyBundle(b.path, { hash: { threads: 2, inlineBelow: 0, chunk: 16 * 1024 } });
    assert.equal(r.ok, true);
    assert.equal(check(r, 'integrity').stats.threads, 2);
    const d = b.images[0]!.platforms[1]!.layers[3]!.digest;
    const bad = await build({ images: [{ ref: 'registry.k8s.io/etcd:3.5.15-0', layers: 6, layerSize: 64 * 1024 }], damage: [{ kind: 'flip-byte', digest: d, at: 40000 }] });
    const rb = await verifyBundle(bad.path, { hash: { threads: 2, inlineBelow: 0, chunk: 16 * 1024 } });
    assert.deepEqual(errors(rb, 'integrity').map((f) => f.digest), [d]);
  });

  it('accepts platforms left out by the filter and records them as absent by choice', async () => {
    const b = await build({ platforms: ['linux/amd64'] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.equal(check(r, 'graph').stats.absentByChoice, 2);
    assert.equal(r.platformMatrix.rows.find((x) => x.ref === 'registry.k8s.io/pause:3.9')!.cells['linux/arm64'], 'absent-by-choice');
  });

  it('leaves attestation manifests out of the platform matrix', async () => {
    const b = await build({ images: [{ ref: 'docker.io/library/nginx:1.27', attestation: true }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.deepEqual(r.platformMatrix.platforms, ['linux/amd64', 'linux/arm64']);
    // with a platform filter the attestation stays out, recorded as such
    const f = await build({ images: [{ ref: 'docker.io/library/nginx:1.27', attestation: true }], platforms: ['linux/arm64'] });
    const rf = await verifyBundle(f.path);
    assert.equal(rf.ok, true, JSON.stringify(errors(rf), null, 1));
    assert.equal(rf.summary.warnings, 0, JSON.stringify(rf.checks.flatMap((c) => c.findings)));
  });

  it('a single-manifest Docker image declared by its OCI twin in index.json', async () => {
    const b = await build({ images: [{ ref: 'registry.k8s.io/coredns/coredns:v1.11.3', platforms: ['linux/arm64'], docker: true }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.equal(r.images[0]!.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(r.images[0]!.platforms.map((p) => [p.platform, p.status]), [['linux/arm64', 'present']]);
  });
});

describe('verifyBundle: damage is caught and named', () => {
  it('a flipped byte in a shared layer: the digest and every image that uses it', async () => {
    const clean = await build();
    const shared = [...new Set(clean.images.flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))))].find((d) => clean.usersOf(d).length > 1)!;
    assert.ok(shared, 'the test set shares a layer');
    const b = await build({ damage: [{ kind: 'flip-byte', digest: shared }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, false);
    const [f, ...rest] = errors(r, 'integrity');
    assert.equal(rest.length, 0);
    assert.equal(f!.code, 'digest-mismatch');
    assert.equal(f!.digest, shared);
    assert.deepEqual(f!.images, b.usersOf(shared));
    assert.deepEqual(f!.images, ['registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/kube-proxy:v1.30.14']);
    for (const u of f!.images!) assert.ok(f!.message.includes(u));
    assert.ok(f!.message.includes(shared));
    // the images' amd64 platforms are damaged; the rest is fine
    assert.equal(r.platformMatrix.rows.find((x) => x.ref === 'registry.k8s.io/kube-proxy:v1.30.14')!.cells['linux/amd64'], 'damaged');
    assert.equal(r.platformMatrix.rows.find((x) => x.ref === 'registry.k8s.io/kube-proxy:v1.30.14')!.cells['linux/arm64'], 'present');
    assert.deepEqual(r.images.filter((i) => !i.ok).map((i) => i.ref), b.usersOf(shared));
  });

  it('a flipped byte in a platform manifest, a config, an index', async () => {
    const clean = await build();
    const pause = clean.images.find((i) => i.ref.endsWith('pause:3.9'))!;
    for (const digest of [pause.platforms[1]!.manifest.digest, pause.platforms[0]!.config.digest, pause.descriptor.digest]) {
      const b = await build({ damage: [{ kind: 'flip-byte', digest, at: 10 }] });
      const r = await verifyBundle(b.path);
      assert.equal(r.ok, false);
      const f = errors(r, 'integrity');
      assert.deepEqual(f.map((x) => [x.code, x.digest, x.images]), [['digest-mismatch', digest, ['registry.k8s.io/pause:3.9']]]);
      // blobs below a damaged manifest are not reported as unused
      assert.equal(r.summary.warnings, 0, JSON.stringify(r.checks.flatMap((c) => c.findings.filter((x) => x.severity === 'warning'))));
    }
  });

  it('a truncated bundle: where it ends, and which images lose their blob', async () => {
    const clean = await build();
    const lastLayer = clean.entries.at(-1)!;
    const b = await build({ damage: [{ kind: 'truncate', at: 'mid-last-layer' }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, false);
    const s = errors(r, 'structure');
    assert.equal(s.length, 1);
    assert.equal(s[0]!.code, 'truncated');
    assert.equal(s[0]!.offset, b.bytes.length);
    assert.ok(s[0]!.message.includes(`ends at byte ${b.bytes.length}, inside entry ${lastLayer.name}`), s[0]!.message);
    const digest = `sha256:${lastLayer.name.split('/')[2]}`;
    const i = errors(r, 'integrity');
    assert.deepEqual(i.map((x) => [x.code, x.digest, x.images]), [['truncated-blob', digest, clean.usersOf(digest)]]);
    assert.match(check(r, 'structure').summary, /truncated/);
  });

  it('a bundle cut before index.json is still a report (exit 1), not a crash', async () => {
    const b = await build({ damage: [{ kind: 'truncate', at: 700 }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, false);
    assert.equal(errors(r, 'structure')[0]!.code, 'truncated');
    assert.ok(errors(r, 'layout').some((f) => f.code === 'missing-index'));
  });

  it('unsafe paths, links, devices and duplicates', async () => {
    const cases: [MakeBundleOptions['damage'], string, string][] = [
      [[{ kind: 'evil-path' }], 'unsafe-path', '../evil'],
      [[{ kind: 'absolute-path' }], 'unsafe-path', '/etc/cron.d/evil'],
      [[{ kind: 'symlink' }], 'link', 'blobs/sha256/link'],
      [[{ kind: 'hardlink' }], 'link', 'hard'],
      [[{ kind: 'device' }], 'special-file', 'dev-null'],
      [[{ kind: 'duplicate', same: true }], 'duplicate', ''],
    ];
    for (const [damage, code, entry] of cases) {
      const b = await build({ damage });
      const r = await verifyBundle(b.path);
      assert.equal(r.ok, false, code);
      const s = errors(r, 'structure');
      assert.ok(s.some((f) => f.code === code && (entry === '' || f.entry === entry)), `${code}: ${JSON.stringify(s)}`);
    }
  });

  it('a duplicate entry with other bytes is caught twice: as a duplicate and as a bad blob', async () => {
    const b = await build({ damage: [{ kind: 'duplicate' }] });
    const r = await verifyBundle(b.path);
    assert.deepEqual(errors(r, 'structure').map((f) => f.code), ['duplicate']);
    assert.deepEqual(errors(r, 'integrity').map((f) => f.code), ['digest-mismatch']);
  });

  it('a dropped blob: named with the images that need it', async () => {
    const clean = await build();
    const kp = clean.images.find((i) => i.ref.includes('kube-proxy'))!;
    const layer = kp.platforms[1]!.layers[1]!.digest;
    const b = await build({ damage: [{ kind: 'drop-blob', digest: layer }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, false);
    const g = errors(r, 'graph');
    assert.deepEqual(g.map((f) => [f.code, f.digest, f.images]), [['missing-blob', layer, ['registry.k8s.io/kube-proxy:v1.30.14']]]);
    assert.match(g[0]!.message, /linux\/arm64/);
    assert.ok(errors(r, 'metadata').some((f) => f.code === 'blob-count-mismatch'));
    assert.equal(r.platformMatrix.rows.find((x) => x.ref.includes('kube-proxy'))!.cells['linux/arm64'], 'damaged');
  });

  it('a dropped platform manifest the metadata says is included', async () => {
    const clean = await build();
    const pause = clean.images.find((i) => i.ref.endsWith('pause:3.9'))!;
    const b = await build({ damage: [{ kind: 'drop-blob', digest: pause.platforms[1]!.manifest.digest }] });
    const r = await verifyBundle(b.path);
    const g = errors(r, 'graph');
    assert.deepEqual(g.map((f) => [f.code, f.platform, f.images]), [['missing-manifest', 'linux/arm64', ['registry.k8s.io/pause:3.9']]]);
    assert.equal(r.platformMatrix.rows.find((x) => x.ref.endsWith('pause:3.9'))!.cells['linux/arm64'], 'missing');
  });

  it('metadata that disagrees with index.json, or is not JSON', async () => {
    const clean = await build();
    const md = structuredClone(clean.metadata!);
    md.images[0]!.digest = md.images[1]!.digest;
    md.images[0]!.platforms = undefined;
    const b = await build({ damage: [{ kind: 'replace', name: 'airgap-bundle.json', data: Buffer.from(JSON.stringify(md)) }] });
    const r = await verifyBundle(b.path);
    assert.ok(errors(r, 'metadata').some((f) => f.code === 'metadata-mismatch' && f.images?.[0] === md.images[0]!.ref), JSON.stringify(errors(r)));
    const j = await build({ damage: [{ kind: 'replace', name: 'airgap-bundle.json', data: Buffer.from('{"formatVersion":1,') }] });
    const rj = await verifyBundle(j.path);
    assert.deepEqual(errors(rj, 'metadata').map((f) => f.code), ['invalid-metadata']);
    const newer = await build({ damage: [{ kind: 'replace', name: 'airgap-bundle.json', data: Buffer.from(JSON.stringify({ ...clean.metadata, formatVersion: 2 })) }] });
    const rn = await verifyBundle(newer.path);
    assert.match(errors(rn, 'metadata')[0]!.message, /format version 2 is newer/);
  });

  it('index.json that is not JSON', async () => {
    const b = await build({ damage: [{ kind: 'replace', name: 'index.json', data: Buffer.from('{"schemaVersion":2,"manifests":[') }] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, false);
    assert.deepEqual(errors(r, 'layout').map((f) => f.code), ['invalid-index']);
  });
});

/** A one-image OCI layout tar whose manifest says what the test wants, true or not. */
async function handMade(name: string, layers: (blobs: Map<string, Buffer>) => object[]): Promise<string> {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer): { digest: string; size: number } => {
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    blobs.set(digest, b);
    return { digest, size: b.length };
  };
  const config = put(Buffer.from('{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}'));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers(blobs),
  })));
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': 'example.com/hand:1' } }] };
  const entries: TestTarEntry[] = [
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...[...blobs].map(([d, b]) => ({ name: `blobs/sha256/${d.slice(7)}`, data: b })),
  ];
  const path = join(dir, name);
  await writeFile(path, buildTar(entries).buffer);
  return path;
}

describe('verifyBundle: descriptors that do not match the blobs', () => {
  it('a descriptor size other than the blob\'s is named', async () => {
    let layerDigest = '';
    const path = await handMade('size.tar', (blobs) => {
      const b = pseudoRandom('layer', 3000);
      layerDigest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
      blobs.set(layerDigest, b);
      return [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: 3010 }];
    });
    const r = await verifyBundle(path);
    assert.equal(r.ok, false);
    assert.deepEqual(errors(r, 'integrity').map((f) => [f.code, f.digest, f.expected, f.actual, f.images]), [['size-mismatch', layerDigest, '3010', '3000', ['example.com/hand:1']]]);
  });

  it('an absent foreign layer (Windows base layers) is a note, not damage', async () => {
    const path = await handMade('foreign.tar', () => [{
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: `sha256:${'ab'.repeat(32)}`,
      size: 1000,
      urls: ['https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:abab'],
    }]);
    const r = await verifyBundle(path);
    assert.equal(r.ok, true, JSON.stringify(errors(r)));
    assert.deepEqual(r.checks.flatMap((c) => c.findings).map((f) => f.code), ['foreign-layer']);
  });
});

describe('verifyBundle: platforms', () => {
  it('--platform asks every image for a platform; left out by the filter is not enough', async () => {
    const b = await build({ platforms: ['linux/amd64'] });
    const ok = await verifyBundle(b.path, { platforms: ['linux/amd64'] });
    assert.equal(ok.ok, true, JSON.stringify(errors(ok)));
    const r = await verifyBundle(b.path, { platforms: ['linux/arm64/v8'] });
    assert.equal(r.ok, false);
    const f = errors(r, 'platforms');
    assert.deepEqual(f.map((x) => [x.code, x.images?.[0]]), [
      ['platform-not-offered', 'registry.k8s.io/coredns/coredns:v1.11.3'],
      ['platform-not-included', 'registry.k8s.io/kube-proxy:v1.30.14'],
      ['platform-not-included', 'registry.k8s.io/pause:3.9'],
    ]);
    assert.match(f[1]!.message, /linux\/arm64 is left out when the bundle was packed/);
    const all = await verifyBundle(b.path, { platforms: ['all'] });
    assert.equal(errors(all, 'platforms').length, 2);
  });

  it('other tools\' archives: an absent platform is a warning, --platform makes it an error', async () => {
    const b = await build({ metadata: false, platforms: ['linux/amd64'], directories: true });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r)));
    assert.equal(r.bundle?.kind, 'oci-layout');
    assert.equal(check(r, 'metadata').status, 'skip');
    const warnings = check(r, 'graph').findings.filter((f) => f.code === 'platform-absent');
    assert.deepEqual(warnings.map((f) => f.images?.[0]).sort(), ['registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/pause:3.9']);
    assert.equal(r.platformMatrix.rows.find((x) => x.ref.endsWith('pause:3.9'))!.cells['linux/arm64'], 'absent');
    const strict = await verifyBundle(b.path, { platforms: ['linux/arm64'] });
    assert.equal(strict.ok, false);
  });
});

describe('verifyBundle: input that cannot be used', () => {
  it('usage errors come before reading the bundle', async () => {
    await assert.rejects(verifyBundle(join(dir, 'nope.tar'), { platforms: ['linux/nonsense/x/y'] }), { kind: 'usage' });
    await assert.rejects(verifyBundle(join(dir, 'nope.tar'), { kubernetes: 'v9.99.0' }), { kind: 'usage' });
    await assert.rejects(verifyBundle(join(dir, 'nope.tar'), { list: join(dir, 'missing-list.txt') }), { kind: 'io' });
  });

  it('a missing file, a non-tar and a non-bundle are io errors', async () => {
    await assert.rejects(verifyBundle(join(dir, 'nope.tar')), { code: 'ENOENT' });
    const gz = join(dir, 'b.tar.gz');
    await writeFile(gz, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]));
    await assert.rejects(verifyBundle(gz), { code: 'ERR_ARCHIVE_DECOMPRESS', kind: 'io' });
    const plain = join(dir, 'plain.tar');
    await writeFile(plain, buildTar([{ name: 'notes.txt', data: Buffer.from('hello') }]).buffer);
    await assert.rejects(verifyBundle(plain), { code: 'ERR_NOT_A_BUNDLE', kind: 'io' });
  });
});
