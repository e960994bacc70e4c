import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { rm } from 'node:fs/promises';
import { BundleReader } from '../../src/bundle/reader.js';
import { bundleImages, fullName, sandboxImageOf, uniqueContent } from '../../src/bundle/images.js';
import { digestOf } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { makeBundle, makeTempDir } from '../helpers/make-bundle.js';

const tmp = await makeTempDir('airgap-load-images-');
after(() => tmp.cleanup());

async function withReader<T>(path: string, fn: (r: BundleReader) => Promise<T>): Promise<T> {
  const r = await BundleReader.open(path);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

test('every image of the bundle, by its full name, with the graph the bundle holds', async () => {
  const b = await makeBundle({ dir: tmp.dir });
  const images = await withReader(b.path, (r) => bundleImages(r));
  assert.deepEqual(images.map((i) => i.name), b.images.map((i) => i.ref));
  for (const img of images) {
    const built = b.images.find((i) => i.ref === img.name)!;
    assert.equal(img.descriptor.digest, built.descriptor.digest);
    const want = new Set([built.descriptor.digest, ...built.platforms.flatMap((p) => [p.manifest.digest, p.config.digest, ...p.layers.map((l) => l.digest)])]);
    assert.deepEqual(new Set(img.graph.nodes.map((n) => n.digest)), want);
    assert.equal(img.graph.absent.length, 0);
    assert.equal(img.reduced, undefined);
  }
  const pause = sandboxImageOf(images);
  assert.equal(pause?.name, 'registry.k8s.io/pause:3.9');
  assert.deepEqual(images.filter((i) => i.pause).map((i) => i.name), ['registry.k8s.io/pause:3.9']);
  // a layer shared by kube-proxy and coredns is counted once
  const all = new Set(images.flatMap((i) => i.graph.nodes.map((n) => n.digest)));
  assert.equal(uniqueContent(images).blobs, all.size);
});

test('platforms left out on purpose are absent, not damage; the reduced index lists only what the bundle has', async () => {
  const b = await makeBundle({ dir: tmp.dir, platforms: ['linux/amd64'] });
  const images = await withReader(b.path, (r) => bundleImages(r));
  const proxy = images.find((i) => i.name.includes('kube-proxy'))!;
  const built = b.images.find((i) => i.ref === proxy.name)!;
  assert.deepEqual(proxy.graph.platforms, ['linux/amd64']);
  assert.deepEqual(proxy.graph.absent.map((d) => d.digest), [built.platforms.find((p) => p.platform === 'linux/arm64')!.manifest.digest]);
  assert.ok(proxy.reduced);
  assert.equal(proxy.reduced.descriptor.digest, digestOf(proxy.reduced.bytes));
  const parsed = parseManifest(proxy.reduced.bytes, proxy.reduced.descriptor.mediaType);
  assert.equal(parsed.kind, 'index');
  assert.deepEqual(parsed.kind === 'index' && parsed.index.manifests.map((m) => m.digest), [built.platforms[0]!.manifest.digest]);
  // the same input reduces to the same bytes: a second load recognises what the first pushed
  const again = await withReader(b.path, (r) => bundleImages(r));
  assert.equal(again.find((i) => i.name === proxy.name)!.reduced!.descriptor.digest, proxy.reduced.descriptor.digest);
  // a single-platform image has nothing to reduce
  assert.equal(images.find((i) => i.name.includes('coredns'))!.reduced, undefined);
});

test('a layer missing from the bundle is damage, named with its image', async () => {
  const clean = await makeBundle({ dir: tmp.dir });
  const layer = clean.images.find((i) => i.ref.includes('pause'))!.platforms[0]!.layers[0]!.digest;
  const b = await makeBundle({ dir: tmp.dir, damage: [{ kind: 'drop-blob', digest: layer }] });
  await withReader(b.path, async (r) => {
    await assert.rejects(bundleImages(r), (e: Error & { code?: string; kind?: string }) => {
      assert.equal(e.code, 'ERR_BUNDLE_CONTENT_MISSING');
      assert.equal(e.kind, 'check');
      assert.match(e.message, new RegExp(layer));
      assert.match(e.message, /registry\.k8s\.io\/pause:3\.9/);
      return true;
    });
  });
  await rm(b.path);
});

test('names: full references as they are, familiar names normalized, short tags only with a base name', () => {
  assert.equal(fullName(['registry.k8s.io/pause:3.9'], 'sha256:x').toString(), 'registry.k8s.io/pause:3.9');
  assert.equal(fullName(['3.9', 'registry.k8s.io/pause:3.9'], 'sha256:x').toString(), 'registry.k8s.io/pause:3.9');
  assert.equal(fullName(['nginx:1.27'], 'sha256:x').toString(), 'docker.io/library/nginx:1.27');
  assert.equal(fullName(['3.9'], 'sha256:x', 'registry.k8s.io/pause').toString(), 'registry.k8s.io/pause:3.9');
  assert.throws(() => fullName(['3.9'], 'sha256:x'), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'ERR_IMAGE_NAME_UNKNOWN');
    assert.match(e.hint ?? '', /--base-name/);
    return true;
  });
  assert.throws(() => fullName([], 'sha256:x'), (e: Error & { code?: string }) => e.code === 'ERR_IMAGE_NAME_UNKNOWN');
});

test('without airgap metadata (other tools\' archives) the pause image is found by its name', async () => {
  const b = await makeBundle({ dir: tmp.dir, metadata: false });
  const images = await withReader(b.path, (r) => bundleImages(r));
  assert.equal(sandboxImageOf(images)?.name, 'registry.k8s.io/pause:3.9');
  assert.equal(images.find((i) => i.pause)?.role, undefined);
});
