import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { cacheRoot, generateImages, type GeneratedImage, type GeneratedImages } from '../../scripts/lab/index.js';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;

let gen: GeneratedImages;
let work: string;
const blob = (digest: string): Promise<Buffer> => readFile(join(gen.layoutDir, 'blobs', 'sha256', digest.slice(7)));
const byRef = (ref: string): GeneratedImage => gen.images.find((i) => i.ref === ref)!;

before(async () => {
  gen = await generateImages({ scale: 0.01 });
  work = await mkdtemp(join(tmpdir(), 'airgap-lab-gen-test-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('generateImages: the default kubeadm v1.30.14 set', () => {
  it('holds the seven kubeadm images under their real names, each on both platforms', () => {
    assert.deepEqual(gen.images.map((i) => i.ref).sort(), [
      'registry.k8s.io/coredns/coredns:v1.11.3',
      'registry.k8s.io/etcd:3.5.15-0',
      'registry.k8s.io/kube-apiserver:v1.30.14',
      'registry.k8s.io/kube-controller-manager:v1.30.14',
      'registry.k8s.io/kube-proxy:v1.30.14',
      'registry.k8s.io/kube-scheduler:v1.30.14',
      'registry.k8s.io/pause:3.9',
    ]);
    for (const img of gen.images) assert.deepEqual(img.platforms.map((p) => p.platform), ['linux/amd64', 'linux/arm64'], img.ref);
  });

  it('writes an OCI layout whose index.json names every image for containerd and OCI tools', async () => {
    assert.deepEqual(JSON.parse(await readFile(join(gen.layoutDir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(gen.layoutDir, 'index.json'), 'utf8')) as {
      manifests: { digest: string; mediaType: string; size: number; annotations: Record<string, string> }[];
    };
    assert.equal(index.manifests.length, gen.images.length);
    for (const d of index.manifests) {
      const img = byRef(d.annotations['io.containerd.image.name']!);
      assert.equal(d.annotations['org.opencontainers.image.ref.name'], img.ref);
      assert.deepEqual([d.digest, d.mediaType, d.size], [img.digest, img.mediaType, img.size]);
    }
  });

  it('stores every blob under its own sha256, and counts them', async () => {
    const names = (await readdir(join(gen.layoutDir, 'blobs', 'sha256'))).filter((n) => !n.startsWith('.'));
    let total = 0;
    for (const n of names) {
      const b = await readFile(join(gen.layoutDir, 'blobs', 'sha256', n));
      assert.equal(sha256(b), `sha256:${n}`);
      total += b.length;
    }
    assert.deepEqual(gen.blobs, { count: names.length, size: total });
  });

  it('mixes Docker manifest lists and OCI indexes, each with matching child and layer types', async () => {
    const docker = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'pause'];
    for (const img of gen.images) {
      const isDocker = docker.some((n) => img.repository === n);
      const index = JSON.parse((await blob(img.digest)).toString()) as {
        schemaVersion: number;
        mediaType: string;
        manifests: { mediaType: string; digest: string; size: number; platform: { os: string; architecture: string } }[];
      };
      assert.equal(index.schemaVersion, 2);
      assert.equal(index.mediaType, img.mediaType);
      assert.equal(
        img.mediaType,
        isDocker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json',
        img.ref,
      );
      for (const [i, child] of index.manifests.entries()) {
        const p = img.platforms[i]!;
        assert.deepEqual([child.digest, child.size, child.mediaType], [p.digest, p.size, p.mediaType]);
        assert.equal(`${child.platform.os}/${child.platform.architecture}`, p.platform);
        const m = JSON.parse((await blob(p.digest)).toString()) as {
          mediaType: string;
          config: { mediaType: string; digest: string };
          layers: { mediaType: string; digest: string; size: number }[];
        };
        assert.equal(m.mediaType, isDocker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json');
        assert.equal(m.config.mediaType, isDocker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
        for (const l of m.layers) {
          assert.equal(l.mediaType, isDocker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip');
        }
        assert.deepEqual(m.layers.map((l) => l.digest), p.layers.map((l) => l.digest));
      }
    }
  });

  it('makes layers that are gzip tars (read by GNU tar) whose uncompressed sha256 is the config diff_id', async () => {
    const seen = new Set<string>();
    for (const img of gen.images) {
      for (const p of img.platforms) {
        const config = JSON.parse((await blob(p.config.digest)).toString()) as {
          os: string;
          architecture: string;
          rootfs: { type: string; diff_ids: string[] };
          config: { Entrypoint: string[] };
        };
        assert.equal(`${config.os}/${config.architecture}`, p.platform);
        assert.equal(config.rootfs.type, 'layers');
        assert.deepEqual(config.rootfs.diff_ids, p.layers.map((l) => l.diffId));
        for (const l of p.layers) {
          if (seen.has(l.digest)) continue;
          seen.add(l.digest);
          const gz = await blob(l.digest);
          assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b], 'gzip magic');
          assert.equal(sha256(gunzipSync(gz)), l.diffId);
          const file = join(gen.layoutDir, 'blobs', 'sha256', l.digest.slice(7));
          const listing = (await execa('tar', ['-tzvf', file])).stdout.split('\n');
          assert.ok(listing.some((line) => line.startsWith('-')), `layer ${l.digest} of ${img.ref} has a regular file`);
        }
        // the entrypoint binary is in one of the image's layers
        const names: string[] = [];
        for (const l of p.layers) {
          names.push(...(await execa('tar', ['-tzf', join(gen.layoutDir, 'blobs', 'sha256', l.digest.slice(7))])).stdout.split('\n'));
        }
        assert.ok(names.includes(config.config.Entrypoint[0]!.slice(1)), `${img.ref} ${p.platform}: ${config.config.Entrypoint[0]}`);
      }
    }
  });

  it('shares layers like the real set: a base per platform, a kube-* layer, unique ones', () => {
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const layersOf = (ref: string) => byRef(ref).platforms.find((p) => p.platform === platform)!.layers.map((l) => l.digest);
      const nonPause = gen.images.filter((i) => i.repository !== 'pause').map((i) => layersOf(i.ref));
      const base = nonPause[0]![0]!;
      for (const ls of nonPause) assert.equal(ls[0], base, 'every image but pause starts with the base layer');
      const kube = gen.images.filter((i) => i.repository.startsWith('kube-')).map((i) => layersOf(i.ref));
      assert.equal(kube.length, 4);
      for (const ls of kube) assert.equal(ls[1], kube[0]![1], 'kube-* share their second layer');
      assert.ok(!layersOf('registry.k8s.io/etcd:3.5.15-0').includes(kube[0]![1]!), 'etcd does not have the kube-* layer');
      // the last layer of each image is its own
      const lasts = gen.images.map((i) => layersOf(i.ref).at(-1)!);
      assert.equal(new Set(lasts).size, lasts.length);
      const pause = layersOf('registry.k8s.io/pause:3.9');
      assert.equal(pause.length, 1);
      assert.ok(!nonPause.flat().includes(pause[0]!));
    }
    const amd = byRef('registry.k8s.io/kube-proxy:v1.30.14').platforms[0]!.layers[0]!.digest;
    const arm = byRef('registry.k8s.io/kube-proxy:v1.30.14').platforms[1]!.layers[0]!.digest;
    assert.notEqual(amd, arm, 'each platform has its own base layer');
  });

  it('is about 1% of the 350 MiB full-size set at scale 0.01, pause being tiny', () => {
    assert.ok(gen.blobs.size > 2.8 * MiB && gen.blobs.size < 4.5 * MiB, `${gen.blobs.size} bytes`);
    const pause = byRef('registry.k8s.io/pause:3.9').platforms[0]!.layers[0]!;
    const etcd = byRef('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers.reduce((n, l) => n + l.size, 0);
   assert.ok(pause.size < 10 * 1024, `pause layer ${pause.size} bytes`);
    assert.ok(etcd > 50 * pause.size, `etcd ${etcd} bytes`);
  });

  it('is a layout skopeo reads: the OCI-index images digest-match (oci: transport)', async () => {
    for (const ref of ['registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/etcd:3.5.15-0']) {
      const res = await execa('skopeo', ['inspect', '--raw', `oci:${gen.layoutDir}:${ref}`], { encoding: 'buffer' });
      assert.equal(sha256(res.stdout), byRef(ref).digest);
    }
  });
});

describe('generateImages: determinism and caching', () => {
  const refs = [{ ref: 'registry.k8s.io/pause:3.9' }, { ref: 'example.com/team/app:1.0', format: 'docker' as const }];

  it('gives the same digests for the same seed and different ones for another seed', async () => {
    const a = await generateImages({ refs, seed: 'one', noCache: true, outDir: join(work, 'a') });
    const b = await generateImages({ refs, seed: 'one', noCache: true, outDir: join(work, 'b') });
    const c = await generateImages({ refs, seed: 'two', noCache: true, outDir: join(work, 'c') });
    const digests = (g: GeneratedImages) => g.images.flatMap((i) => [i.digest, ...i.platforms.flatMap((p) => [p.digest, ...p.layers.map((l) => l.digest)])]);
    assert.deepEqual(digests(a), digests(b));
    for (const d of digests(c)) assert.ok(!digests(a).includes(d), 'a new seed changes every blob');
    assert.equal(a.layoutDir, join(work, 'a'));
    const app = a.images.find((i) => i.ref === 'example.com/team/app:1.0')!;
    assert.equal(app.role, 'other');
    assert.equal(app.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('reuses a cached layout for the same inputs', async () => {
    const t0 = Date.now();
    const again = await generateImages({ scale: 0.01 });
    assert.equal(again.layoutDir, gen.layoutDir);
    assert.ok(again.layoutDir.startsWith(cacheRoot()));
    assert.deepEqual(again.images, gen.images);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('honours the platform list, including variants', async () => {
    const g = await generateImages({ refs: [{ ref: 'registry.k8s.io/pause:3.9' }], platforms: ['linux/amd64', 'linux/arm/v7', 'linux/s390x'] });
    const p = g.images[0]!.platforms;
    assert.deepEqual(p.map((x) => x.platform), ['linux/amd64', 'linux/arm/v7', 'linux/s390x']);
    const index = JSON.parse((await readFile(join(g.layoutDir, 'blobs', 'sha256', g.images[0]!.digest.slice(7)))).toString()) as {
      manifests: { platform: Record<string, string> }[];
    };
    assert.deepEqual(index.manifests[1]!.platform, { os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('refuses a digest reference and a bad platform', async () => {
    await assert.rejects(generateImages({ refs: [{ ref: `registry.k8s.io/pause@sha256:${'a'.repeat(64)}` }] }), /tags, not digests/);
    await assert.rejects(generateImages({ platforms: ['amd64'] }), /os\/arch/);
  });
});
