import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateImages, type GeneratedImages } from '../../scripts/lab/generate.js';
import { BundleReader } from '../../src/bundle/reader.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { isDigest } from '../../src/oci/digest.js';
import { parsePlatformSelection } from '../../src/oci/platform.js';
import type { ImageReference } from '../../src/oci/reference.js';
import { pack } from '../../src/pack/pack.js';
import type { ImageSource, SourceProvider } from '../../src/pack/resolve.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import type { Finding, VerifyReport } from '../../src/verify/report.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { makeTempDir } from '../helpers/make-bundle.js';

/**
 * The real `pack` writes a bundle of the lab's kubeadm set and `verify` reads it: the two sides of
 * the bundle format, written by different hands, must agree. The source is a BundleReader over the
 * lab images (a bundle is a read-only target, so pack can read from one as from a registry).
 */

let dir: string;
let cleanup: () => Promise<void>;
let lab: GeneratedImages;
let source: BundleReader;

function errors(r: VerifyReport): Finding[] {
  return r.checks.flatMap((c) => c.findings.filter((f) => f.severity === 'error'));
}

/** One "repository" of the source bundle: tags are looked up under the repository's name. */
function repositoryOf(reader: BundleReader, ref: ImageReference): ImageSource {
  return {
    description: `lab ${ref.name}`,
    source: `bundle:${ref.name}`,
    exists: (d: Descriptor) => reader.exists(d),
    fetch: (d, o) => reader.fetch(d, o),
    resolve: (id: string) => reader.resolve(isDigest(id) ? id : `${ref.name}:${id}`),
  };
}

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-pack-interop-'));
  lab = await generateImages();
  const src = await bundleFromLayout(lab.layoutDir, join(dir, 'source.tar'), { metadata: false });
  source = await BundleReader.open(src.path);
});
after(async () => {
  await source.close();
  await cleanup();
});

describe('pack -> verify', () => {
  const sources: SourceProvider = { repository: (ref) => repositoryOf(source, ref) };

  it('a bundle packed by airgap pack (all platforms) verifies clean against its Kubernetes version', async () => {
    const out = join(dir, 'k8s-all.tar');
    await pack({ kubernetes: 'v1.30.14', platforms: parsePlatformSelection('all'), output: out, sources, sourceDateEpoch: 1_700_000_000 });
    const r = await verifyBundle(out);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.equal(r.summary.warnings, 0, JSON.stringify(r.checks.flatMap((c) => c.findings)));
    assert.equal(r.bundle?.kind, 'airgap');
    assert.equal(r.kubernetes?.source, 'metadata');
    assert.deepEqual(r.images.map((i) => [i.ref, i.digest]), lab.images.map((i) => [i.ref, i.digest]));
    assert.equal(r.summary.bytesHashed, lab.blobs.size);
  });

  it('packed for linux/amd64: the rest is absent by choice; damage in it is named', async () => {
    const out = join(dir, 'k8s-amd64.tar');
    await pack({ kubernetes: 'v1.30.14', platforms: parsePlatformSelection('linux/amd64'), output: out, sources, sourceDateEpoch: 1_700_000_000 });
    const r = await verifyBundle(out, { platforms: ['linux/amd64'] });
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.ok(r.platformMatrix.rows.every((row) => row.cells['linux/arm64'] === 'absent-by-choice'));

    const reader = await BundleReader.open(out);
    const apiserver = lab.images.find((i) => i.ref.includes('kube-apiserver'))!;
    const layer = apiserver.platforms.find((p) => p.platform === 'linux/amd64')!.layers.at(-1)!;
    const range = reader.blobRange(layer.digest)!;
    await reader.close();
    const bytes = await readFile(out);
    bytes[range.offset + Math.floor(range.size / 3)] ^= 0x04;
    const bad = join(dir, 'k8s-amd64-flipped.tar');
    await writeFile(bad, bytes);
    const rb = await verifyBundle(bad);
    assert.equal(rb.ok, false);
    const e = errors(rb).filter((f) => f.check === 'integrity');
    assert.equal(e.length, 1);
    assert.equal(e[0]!.digest, layer.digest);
    assert.ok(e[0]!.images!.includes('registry.k8s.io/kube-apiserver:v1.30.14'));
  });
});
