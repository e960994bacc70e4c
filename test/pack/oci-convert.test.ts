import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobPath, type BundleMetadata } from '../../src/bundle/metadata.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/media-type.js';
import { parsePlatformSelection } from '../../src/oci/platform.js';
import type { PackEvent } from '../../src/pack/events.js';
import { pack, type PackOptions } from '../../src/pack/pack.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { addImage, readTar, sha256, tempDir, TestRegistry, type TarEntry } from './helpers.js';

/**
 * pack --oci-media-types: Docker manifest lists and manifests rewritten with OCI media types (new
 * digests), configs and layers byte for byte. podman reading the result is in
 * test/pack/oci-media-types.test.ts; here what the bundle holds.
 */

const EPOCH = 1700000000;
const REFS = ['registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/etcd:3.5.15-0'];

function setup(): { reg: TestRegistry; docker: ReturnType<typeof addImage>; oci: ReturnType<typeof addImage> } {
  const reg = new TestRegistry();
  return { reg, docker: addImage(reg, REFS[0]!, { docker: true }), oci: addImage(reg, REFS[1]!) };
}

function opts(reg: TestRegistry, output: string, more: Partial<PackOptions> = {}): PackOptions {
  return { sources: reg, images: REFS, output, sourceDateEpoch: EPOCH, retryDelayMs: 1, ociMediaTypes: true, ...more };
}

function blob(entries: TarEntry[], digest: string): Buffer {
  const e = entries.find((x) => x.name === blobPath(digest));
  assert.ok(e, `${digest} is in the bundle`);
  return e.data;
}

interface Doc { mediaType: string; manifests?: (Descriptor & { platform?: { architecture: string } })[]; config?: Descriptor; layers?: Descriptor[] }

describe('pack --oci-media-types', () => {
  it('rewrites a Docker manifest list and its included manifests as OCI, configs and layers unchanged; OCI images untouched; verify passes', async (t) => {
    const dir = await tempDir(t);
    const { reg, docker, oci } = setup();
    const out = join(dir, 'oci.tar');
    const events: PackEvent[] = [];
    await pack(opts(reg, out, { platforms: parsePlatformSelection('linux/amd64'), onEvent: (e) => events.push(e) }));
    const entries = await readTar(await readFile(out));
    const meta = JSON.parse(entries[0]!.data.toString()) as BundleMetadata;
    assert.equal(meta.mediaTypes, 'oci-converted');

    const kp = meta.images.find((i) => i.ref === REFS[0])!;
    assert.equal(kp.convertedFrom, docker.index!.digest);
    assert.notEqual(kp.digest, docker.index!.digest);
    assert.equal(kp.mediaType, MediaType.OciIndex);
    const etcd = meta.images.find((i) => i.ref === REFS[1])!;
    assert.equal(etcd.digest, oci.index!.digest, 'an OCI image keeps its upstream digest');
    assert.equal(etcd.convertedFrom, undefined);
    const index = JSON.parse(entries[2]!.data.toString()) as { manifests: Descriptor[] };
    assert.deepEqual(index.manifests.map((m) => [m.mediaType, m.digest]), [[MediaType.OciIndex, etcd.digest], [MediaType.OciIndex, kp.digest]]);

    const top = JSON.parse(blob(entries, kp.digest).toString()) as Doc;
    assert.equal(top.mediaType, MediaType.OciIndex);
    const [amd64, arm64] = top.manifests!;
    const upAmd64 = docker.manifests.find((m) => m.platform === 'linux/amd64')!;
    const upArm64 = docker.manifests.find((m) => m.platform === 'linux/arm64')!;
    assert.equal(amd64!.mediaType, MediaType.OciManifest);
    assert.notEqual(amd64!.digest, upAmd64.manifest.digest);
    assert.equal(amd64!.platform?.architecture, 'amd64', 'the platform stays');
    assert.deepEqual([arm64!.mediaType, arm64!.digest, arm64!.size], [MediaType.DockerManifest, upArm64.manifest.digest, upArm64.manifest.size],
      'a platform left out keeps its upstream descriptor (its bytes are not in the bundle)');
    assert.deepEqual(kp.platforms, [
      { platform: 'linux/amd64', digest: amd64!.digest, included: true, convertedFrom: upAmd64.manifest.digest },
      { platform: 'linux/arm64', digest: upArm64.manifest.digest, included: false },
    ]);

    const m = JSON.parse(blob(entries, amd64!.digest).toString()) as Doc;
    assert.equal(m.mediaType, MediaType.OciManifest);
    assert.deepEqual([m.config!.mediaType, m.config!.digest], [MediaType.OciConfig, upAmd64.config.digest]);
    assert.deepEqual(m.layers!.map((l) => [l.mediaType, l.digest, l.size]), upAmd64.layers.map((l) => [MediaType.OciLayerGzip, l.digest, l.size]));
    for (const d of [upAmd64.config, ...upAmd64.layers]) {
      assert.equal(`sha256:${sha256(blob(entries, d.digest))}`, d.digest, 'config and layer bytes are upstream\'s');
    }
    // No manifest in the bundle declares a Docker type any more.
    for (const e of entries.filter((x) => x.name.startsWith('blobs/'))) {
      const mt = (() => {
        try {
          return (JSON.parse(e.data.toString()) as { mediaType?: unknown }).mediaType;
        } catch {
          return undefined;
        }
      })();
      if (typeof mt === 'string') assert.ok(!mt.includes('docker'), `${e.name} is ${mt}`);
    }
    assert.equal(JSON.parse(entries[3]!.data.toString())[0].Config, blobPath(oci.manifests[0]!.config.digest), 'manifest.json is as without the flag');

    const notice = events.find((e) => e.event === 'notice' && e.code === 'OCI_CONVERTED');
    assert.ok(notice && notice.event === 'notice');
    assert.deepEqual(notice.details, { converted: [{ ref: REFS[0], upstream: docker.index!.digest, digest: kp.digest }] });

    const report = await verifyBundle(out);
    assert.equal(report.ok, true, JSON.stringify(report.checks.flatMap((c) => c.findings)));
    assert.ok(report.checks.every((c) => c.status === 'pass' || c.status === 'skip'), JSON.stringify(report.checks.map((c) => [c.name, c.status])));
    assert.equal(report.bundle?.mediaTypes, 'oci-converted');
    assert.equal(report.images.find((i) => i.ref === REFS[0])!.convertedFrom, docker.index!.digest);
  });

  it('gives the same bytes twice; the lock pins the upstream digests', async (t) => {
    const dir = await tempDir(t);
    const { reg, docker } = setup();
    const lock = join(dir, 'k8s.lock.json');
    await pack(opts(reg, join(dir, 'a.tar'), { lock, platforms: parsePlatformSelection('all') }));
    await pack(opts(reg, join(dir, 'b.tar'), { lock, platforms: parsePlatformSelection('all'), concurrency: 1 }));
    assert.equal(sha256(await readFile(join(dir, 'a.tar'))), sha256(await readFile(join(dir, 'b.tar'))));
    const pins = JSON.parse(await readFile(lock, 'utf8')) as { images: Record<string, string> };
    assert.equal(pins.images[REFS[0]!], docker.index!.digest);
  });

  it('names the references by upstream digest it breaks', async (t) => {
    const dir = await tempDir(t);
    const { reg, docker } = setup();
    const byDigest = `registry.k8s.io/kube-proxy@${docker.index!.digest}`;
    const events: PackEvent[] = [];
    await pack(opts(reg, join(dir, 'd.tar'), { images: [byDigest], onEvent: (e) => events.push(e) }));
    const pinned = events.find((e) => e.event === 'notice' && e.code === 'OCI_CONVERTED_PINNED');
    assert.ok(pinned && pinned.event === 'notice', 'a notice names it');
    assert.deepEqual(pinned.details, { refs: [byDigest] });
  });
});
