import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { BundleMetadata } from '../../src/bundle/metadata.js';
import { planBundle, type BundlePlan, type BundlePlanFile } from '../../src/bundle/writer-plan.js';
import { NotFoundError } from '../../src/content/errors.js';
import { MemoryStore } from '../../src/content/memory-store.js';
import type { FetchOptions } from '../../src/content/target.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { isDigest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-type.js';
import type { ImageReference } from '../../src/oci/reference.js';
import type { ImageSource, SourceProvider } from '../../src/pack/resolve.js';
import { KUBEADM_V1_30_14_REFS } from '../helpers/kubeadm-images.js';

/** Deterministic pseudo-random bytes (sha256 in counter mode): layers that do not compress or repeat. */
export function bytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, n = 0; i < size; n++) {
    const block = createHash('sha256').update(`${seed}:${n}`).digest();
    i += block.copy(out, i);
  }
  return out;
}

/** A MemoryStore that also resolves digests, like a registry repository does, and counts fetches. */
export class TestRepo extends MemoryStore implements ImageSource {
  readonly manifests = new Map<string, Descriptor>();
  readonly fetches: { digest: string; offset: number; mediaType: string }[] = [];
  /** make fetches of these digests fail after this many bytes (once per entry) */
  readonly breakAfter = new Map<string, number>();
  constructor(readonly name: string, readonly source = `memory://${name}`) {
    super(name);
  }
  /** `indent`: pretty-printed, as Docker pushes manifests (clients must hash the bytes, never a re-serialisation) */
  putManifest(mediaType: string, doc: unknown, indent?: number): Descriptor {
    const d = this.put(mediaType, JSON.stringify(doc, null, indent));
    this.manifests.set(d.digest, d);
    return d;
  }
  override async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const d = this.manifests.get(reference);
      if (!d) throw new NotFoundError(`image ${this.name}@${reference}`, this.description, 'remote');
      return d;
    }
    try {
      return await super.resolve(reference);
    } catch {
      throw new NotFoundError(`image ${this.name}:${reference}`, this.description, 'remote');
    }
  }
  override async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    this.fetches.push({ digest: desc.digest, offset: opts.offset ?? 0, mediaType: desc.mediaType });
    const s = await super.fetch(desc, opts);
    const limit = this.breakAfter.get(desc.digest);
    if (limit === undefined) return s;
    this.breakAfter.delete(desc.digest);
    // A connection that dies after `limit` bytes.
    return Readable.from((async function* () {
      let n = 0;
      for await (const c of s) {
        // in 16 KiB pieces, as a socket delivers them
        for (let b = c as Buffer; b.byteLength; b = b.subarray(16384)) {
          const piece = b.subarray(0, 16384);
          if (n + piece.byteLength > limit) {
            yield piece.subarray(0, limit - n);
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          }
          n += piece.byteLength;
          yield piece;
        }
      }
    })(), { objectMode: false });
  }
}

export class TestRegistry implements SourceProvider {
  readonly repos = new Map<string, TestRepo>();
  repo(name: string): TestRepo {
    let r = this.repos.get(name);
    if (!r) this.repos.set(name, (r = new TestRepo(name)));
    return r;
  }
  repository(ref: ImageReference): ImageSource {
    return this.repo(ref.name);
  }
}

export interface TestImage {
  ref: string;
  index?: Descriptor;
  manifests: { platform: string; manifest: Descriptor; config: Descriptor; layers: Descriptor[] }[];
}

const OCI_TYPES = { index: MediaType.OciIndex, manifest: MediaType.OciManifest, config: MediaType.OciConfig, layer: MediaType.OciLayerGzip };
const DOCKER_TYPES = { index: MediaType.DockerManifestList, manifest: MediaType.DockerManifest, config: MediaType.DockerConfig, layer: MediaType.DockerLayerGzip };

/**
 * Push an image to a TestRegistry: an OCI index over one manifest per platform (or a lone
 * manifest with `single`), each with `layers` layers of `layerSize` bytes; `shared` layers are the
 * same bytes in every image that names the same shared seed. `docker`: a Docker manifest list over
 * Docker manifests, as registry.k8s.io serves its images (Docker pretty-prints them).
 */
export function addImage(
  reg: TestRegistry,
  ref: string,
  opts: { platforms?: string[]; layers?: number; layerSize?: number; shared?: string; single?: boolean; docker?: boolean } = {},
): TestImage {
  const [name, tag] = splitRef(ref);
  const repo = reg.repo(name);
  const types = opts.docker ? DOCKER_TYPES : OCI_TYPES;
  const put = (mediaType: string, doc: unknown): Descriptor => repo.putManifest(mediaType, doc, opts.docker ? 3 : undefined);
  const platforms = opts.platforms ?? ['linux/amd64', 'linux/arm64'];
  const out: TestImage = { ref, manifests: [] };
  for (const p of platforms) {
    const [os, architecture, variant] = p.split('/') as [string, string, string | undefined];
    const layers: Descriptor[] = [];
    if (opts.shared) layers.push(repo.put(types.layer, bytes(`shared:${opts.shared}:${p}`, opts.layerSize ?? 3000)));
    for (let i = 0; i < (opts.layers ?? 2); i++) {
      layers.push(repo.put(types.layer, bytes(`${ref}:${p}:${i}`, (opts.layerSize ?? 3000) + i * 517)));
    }
    const config = repo.put(
      types.config,
      JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, config: {} }),
    );
    const manifest = put(types.manifest, { schemaVersion: 2, mediaType: types.manifest, config, layers });
    out.manifests.push({ platform: p, manifest, config, layers });
  }
  if (opts.single) {
    const top = out.manifests[0]!.manifest;
    void repo.tag(top, tag);
    return out;
  }
  const index = put(types.index, {
    schemaVersion: 2,
    mediaType: types.index,
    manifests: out.manifests.map((m) => {
      const [os, architecture, variant] = m.platform.split('/') as [string, string, string | undefined];
      return { ...m.manifest, platform: { os, architecture, ...(variant ? { variant } : {}) } };
    }),
  });
  void repo.tag(index, tag);
  out.index = index;
  return out;
}

export function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return [ref.slice(0, i), ref.slice(i + 1)];
}

export function kubeRegistry(opts: { platforms?: string[]; layerSize?: number } = {}): { reg: TestRegistry; images: TestImage[] } {
  const reg = new TestRegistry();
  const images = KUBEADM_V1_30_14_REFS.map((ref) =>
    addImage(reg, ref, { platforms: opts.platforms ?? ['linux/amd64', 'linux/arm64'], layerSize: opts.layerSize ?? 4000, ...(ref.includes('/kube-') ? { shared: 'debian-base' } : {}) }),
  );
  return { reg, images };
}

export interface TarEntry {
  name: string;
  data: Buffer;
  header: { mode?: number; uid?: number; gid?: number; mtime?: Date; uname?: string; gname?: string; type?: string | null };
}

/** Read a whole tar with tar-stream (an independent reader). */
export async function readTar(data: Buffer): Promise<TarEntry[]> {
  const ex = extract();
  const entries: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        entries.push({ name: header.name, data: Buffer.concat(chunks), header });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(data);
  await done;
  return entries;
}

export async function tempDir(t: { after(fn: () => Promise<void> | void): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-pack-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A bundle plan over test images, built directly (no resolution): for writer tests. */
export function planOf(reg: TestRegistry, images: TestImage[], mtime = 1700000000, loaders: BundlePlanFile[] = []): BundlePlan {
  const manifests: { descriptor: Descriptor; data: Buffer }[] = [];
  const configs: { descriptor: Descriptor; data: Buffer }[] = [];
  const layers: Descriptor[] = [];
  for (const img of images) {
    const repo = reg.repo(splitRef(img.ref)[0]);
    if (img.index) manifests.push({ descriptor: img.index, data: repo.get(img.index.digest)! });
    for (const m of img.manifests) manifests.push({ descriptor: m.manifest, data: repo.get(m.manifest.digest)! });
    for (const m of img.manifests) configs.push({ descriptor: m.config, data: repo.get(m.config.digest)! });
    for (const m of img.manifests) layers.push(...m.layers);
  }
  const metadata: BundleMetadata = {
    formatVersion: 1,
    tool: { name: 'airgap', version: 'test' },
    created: new Date(mtime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    kubernetes: null,
    platforms: 'all',
    images: images.map((i) => ({ ref: i.ref, digest: (i.index ?? i.manifests[0]!.manifest).digest, mediaType: MediaType.OciIndex, size: 1 })),
    blobs: { count: 0, size: 0, sizeWithoutDedup: 0 },
    ...(loaders.length ? { loaders: loaders.map((l) => ({ platform: 'linux/amd64', name: l.name, size: l.size, digest: l.digest })) } : {}),
  };
  return planBundle({
    metadata,
    images: images.map((i) => ({ ref: i.ref, descriptor: i.index ?? i.manifests[0]!.manifest })),
    manifests,
    configs,
    layers,
    ...(loaders.length ? { loaders } : {}),
    mtime,
  });
}

/** Where a layer of a plan can be fetched from. */
export function layerSource(reg: TestRegistry, images: TestImage[]): Map<string, TestRepo> {
  const m = new Map<string, TestRepo>();
  for (const img of images) for (const man of img.manifests) for (const l of man.layers) m.set(l.digest, reg.repo(splitRef(img.ref)[0]));
  return m;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
