import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/content/memory-store.js';
import { BundleEntry, blobPath, type BundleImage, type BundleMetadata } from '../../src/bundle/metadata.js';
import { dockerManifestJson } from '../../src/bundle/docker-manifest.js';
import { Annotation, type Descriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/media-type.js';
import { formatPlatform, parsePlatform, type Platform } from '../../src/oci/platform.js';
import { buildTar, type TestTarEntry, type WrittenEntry } from './tar-writer.js';

/**
 * Bundles for tests, built per docs/bundle-format.md from small synthetic images held in a
 * MemoryStore (multi-platform indexes, layers shared between images), with every kind of damage a
 * verifier must catch. Nothing here is committed: each test builds what it needs in a temp dir.
 */

export interface SyntheticImage {
  /** Full reference, e.g. registry.k8s.io/pause:3.9. */
  ref: string;
  /** Default linux/amd64 + linux/arm64. */
  platforms?: string[];
  /** An index even for one platform; default: an index when there is more than one platform. */
  index?: boolean;
  /** Layers per platform (default 2). */
  layers?: number;
  layerSize?: number;
  /** Images with the same key share their first layer (per platform): a blob used by several images. */
  sharedBase?: string;
  role?: string;
  /** Docker v2 schema 2 media types instead of OCI. */
  docker?: boolean;
  /** Add a BuildKit attestation manifest (unknown/unknown) to the index. */
  attestation?: boolean;
}

export type Damage =
  /** Flip one byte of a blob (default: the first layer of the first image, which may be shared). */
  | { kind: 'flip-byte'; digest?: string; at?: number }
  /** Cut the file at a byte offset, or in the middle of the last layer's data. */
  | { kind: 'truncate'; at: number | 'mid-last-layer' }
  | { kind: 'evil-path'; name?: string }
  | { kind: 'absolute-path' }
  | { kind: 'symlink' }
  | { kind: 'hardlink' }
  | { kind: 'device' }
  /** A second entry with the name of an existing blob (different bytes by default). */
  | { kind: 'duplicate'; digest?: string; same?: boolean }
  /** Leave a blob out of the tar (the metadata still counts it, as after a hand edit). */
  | { kind: 'drop-blob'; digest: string }
  /** Leave out the end-of-archive marker. */
  | { kind: 'no-end' }
  /** Replace a top-level file's bytes. */
  | { kind: 'replace'; name: string; data: Buffer }
  /** Leave a top-level file out (the metadata still records it). */
  | { kind: 'drop-entry'; name: string };

export interface MakeBundleOptions {
  images?: SyntheticImage[];
  /** The platform filter: children not matching are left out and recorded as included: false. */
  platforms?: 'all' | string[];
  /** Write airgap-bundle.json (default true); false makes an archive like other tools'. */
  metadata?: boolean;
  kubernetes?: { version: string; distribution: string } | null;
  /** Add directory entries (blobs/, blobs/sha256/) as Go's archive/tar writers do. */
  directories?: boolean;
  damage?: Damage[];
  /** Write manifest.json for this platform (and record it in the metadata), as airgap pack does. */
  dockerPlatform?: string;
  /** Where to write; default a fresh temp dir. */
  dir?: string;
  name?: string;
}

export interface BuiltPlatform {
  platform: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  included: boolean;
}

export interface BuiltImage {
  ref: string;
  role?: string;
  descriptor: Descriptor;
  platforms: BuiltPlatform[];
}

export interface BuiltBundle {
  path: string;
  dir: string;
  bytes: Buffer;
  images: BuiltImage[];
  store: MemoryStore;
  metadata: BundleMetadata | null;
  /** Where each entry landed in the tar. */
  entries: WrittenEntry[];
  /** The data range of a blob in the file. */
  blobRange(digest: string): { offset: number; size: number };
  /** Every image (ref) that uses a blob. */
  usersOf(digest: string): string[];
}

/** A kubeadm-like set: an index with a shared base layer, a docker-typed single manifest, pause. */
export function defaultImages(): SyntheticImage[] {
  return [
    { ref: 'registry.k8s.io/pause:3.9', role: 'pause', layers: 1 },
    { ref: 'registry.k8s.io/kube-proxy:v1.30.14', role: 'kube-proxy', sharedBase: 'debian' },
    { ref: 'registry.k8s.io/coredns/coredns:v1.11.3', role: 'coredns', platforms: ['linux/amd64'], docker: true, sharedBase: 'debian' },
  ];
}

/** Every image kubeadm v1.30.14 pulls, small. */
export function kubeadmImages(version = 'v1.30.14', overrides: Record<string, string> = {}): SyntheticImage[] {
  const tags: Record<string, string> = {
    'kube-apiserver': version,
    'kube-controller-manager': version,
    'kube-scheduler': version,
    'kube-proxy': version,
    coredns: 'v1.11.3',
    pause: '3.9',
    etcd: '3.5.15-0',
    ...overrides,
  };
  return Object.entries(tags).map(([role, tag]) => ({
    ref: `registry.k8s.io/${role === 'coredns' ? 'coredns/coredns' : role}:${tag}`,
    role,
    layers: 1,
    layerSize: 512,
    sharedBase: role.startsWith('kube-') ? 'distroless' : undefined,
  }));
}

/** Deterministic incompressible bytes. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < size; i += 32) {
    block.copy(out, i, 0, Math.min(32, size - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function platformObject(p: string): Platform {
  return parsePlatform(p);
}

export async function makeTempDir(prefix = 'airgap-verify-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let counter = 0;

export async function makeBundle(opts: MakeBundleOptions = {}): Promise<BuiltBundle> {
  const specs = [...(opts.images ?? defaultImages())].sort((a, b) => a.ref.localeCompare(b.ref));
  const store = new MemoryStore('synthetic images');
  const filter = opts.platforms ?? 'all';
  const wanted = filter === 'all' ? undefined : filter.map((p) => formatPlatform(parsePlatform(p)));
  const users = new Map<string, Set<string>>();
  const use = (d: Descriptor, ref: string): void => {
    let s = users.get(d.digest);
    if (!s) users.set(d.digest, (s = new Set()));
    s.add(ref);
  };

  const images: BuiltImage[] = [];
  const attestations = new Map<string, Descriptor[]>();
  const manifestBlobs: Descriptor[] = [];
  const configBlobs: Descriptor[] = [];
  const layerBlobs: Descriptor[] = [];
  const addUnique = (list: Descriptor[], d: Descriptor): void => {
    if (!list.some((x) => x.digest === d.digest)) list.push(d);
  };

  for (const spec of specs) {
    const plats = spec.platforms ?? ['linux/amd64', 'linux/arm64'];
    const asIndex = spec.index ?? plats.length > 1;
    const mt = spec.docker
      ? { index: MediaType.DockerManifestList, manifest: MediaType.DockerManifest, config: MediaType.DockerConfig, layer: MediaType.DockerLayerGzip }
      : { index: MediaType.OciIndex, manifest: MediaType.OciManifest, config: MediaType.OciConfig, layer: MediaType.OciLayerGzip };
    const built: BuiltPlatform[] = [];
    for (const p of plats) {
      const po = platformObject(p);
      const label = formatPlatform(po);
      const layers: Descriptor[] = [];
      const n = spec.layers ?? 2;
      for (let i = 0; i < n; i++) {
        const seed = i === 0 && spec.sharedBase ? `base|${spec.sharedBase}|${label}` : `${spec.ref}|${label}|${i}`;
        layers.push(store.put(mt.layer, pseudoRandom(seed, spec.layerSize ?? 2048 + i * 700)));
      }
      const config = store.put(mt.config, JSON.stringify({
        architecture: po.architecture,
        os: po.os,
        ...(po.variant ? { variant: po.variant } : {}),
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        config: { Labels: { 'test.image': spec.ref } },
      }));
      const manifest = store.put(mt.manifest, JSON.stringify({ schemaVersion: 2, mediaType: mt.manifest, config, layers }));
      const included = !asIndex || !wanted || wanted.includes(label);
      built.push({ platform: label, manifest: { ...manifest, platform: po }, config, layers, included });
    }
    let descriptor: Descriptor;
    if (asIndex) {
      const children: Descriptor[] = built.map((b) => ({ mediaType: b.manifest.mediaType, digest: b.manifest.digest, size: b.manifest.size, platform: platformObject(b.platform) }));
      if (spec.attestation) {
        const att = store.put(MediaType.OciManifest, JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: store.put('application/vnd.oci.image.config.v1+json', '{}'),
          layers: [store.put('application/vnd.in-toto+json', '{"predicate":{}}')],
        }));
        children.push({ ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': built[0]!.manifest.digest } });
      }
      const idx = store.put(mt.index, JSON.stringify({ schemaVersion: 2, mediaType: mt.index, manifests: children }));
      descriptor = idx;
      attestations.set(spec.ref, children.filter((c) => c.platform?.os === 'unknown'));
      addUnique(manifestBlobs, idx);
      use(idx, spec.ref);
      for (const c of children) {
        if (c.platform?.os === 'unknown' && !wanted) {
          // attestation: its manifest, config and layer travel with the image, and only with "all" (as pack does)
          addUnique(manifestBlobs, c);
          use(c, spec.ref);
          const parsed = JSON.parse(store.get(c.digest)!.toString()) as { config: Descriptor; layers: Descriptor[] };
          addUnique(configBlobs, parsed.config);
          use(parsed.config, spec.ref);
          for (const l of parsed.layers) {
            addUnique(layerBlobs, l);
            use(l, spec.ref);
          }
        }
      }
    } else {
      descriptor = { mediaType: built[0]!.manifest.mediaType, digest: built[0]!.manifest.digest, size: built[0]!.manifest.size };
    }
    for (const b of built) {
      if (!b.included) continue;
      addUnique(manifestBlobs, b.manifest);
      addUnique(configBlobs, b.config);
      for (const l of b.layers) addUnique(layerBlobs, l);
      for (const d of [b.manifest, b.config, ...b.layers]) use(d, spec.ref);
    }
    images.push({ ref: spec.ref, ...(spec.role ? { role: spec.role } : {}), descriptor, platforms: built });
  }

  const blobs = [...manifestBlobs, ...configBlobs, ...layerBlobs];
  const withMetadata = opts.metadata ?? true;
  // docs/bundle-format.md: our bundles declare Docker types as their OCI twins in index.json; other
  // tools (ctr export) keep the Docker types, so archives without metadata do too.
  const declared = (mt: string): string => !withMetadata ? mt
    : mt === MediaType.DockerManifestList ? MediaType.OciIndex
      : mt === MediaType.DockerManifest ? MediaType.OciManifest : mt;
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: images.map((i) => ({
      mediaType: declared(i.descriptor.mediaType),
      digest: i.descriptor.digest,
      size: i.descriptor.size,
      annotations: { [Annotation.ContainerdImageName]: i.ref, [Annotation.RefName]: i.ref },
    })),
  };
  const metadata: BundleMetadata | null = withMetadata
    ? {
      formatVersion: 1,
      tool: { name: 'airgap', version: '0.1.0' },
      created: '2026-11-22T00:00:00Z',
      kubernetes: opts.kubernetes ?? null,
      platforms: filter,
      images: images.map((i): BundleImage => ({
        ref: i.ref,
        digest: i.descriptor.digest,
        mediaType: declared(i.descriptor.mediaType),
        size: i.descriptor.size,
        ...(i.role ? { role: i.role } : {}),
        source: `http://127.0.0.1:5000/v2/${i.ref.split(':')[0]!.split('/').slice(1).join('/')}`,
        ...(i.descriptor.mediaType === MediaType.OciIndex || i.descriptor.mediaType === MediaType.DockerManifestList
          ? {
            platforms: [
              ...i.platforms.map((p) => ({ platform: p.platform, digest: p.manifest.digest, included: p.included })),
              ...(attestations.get(i.ref) ?? []).map((a) => ({ platform: 'unknown', digest: a.digest, included: !wanted })),
            ],
          }
          : {}),
      })),
      blobs: {
        count: blobs.length,
        size: blobs.reduce((s, b) => s + b.size, 0),
        sizeWithoutDedup: images.reduce((s, i) => s + [...users].filter(([, u]) => u.has(i.ref)).reduce((t, [d]) => t + (blobs.find((b) => b.digest === d)?.size ?? 0), 0), 0),
      },
    }
    : null;

  // manifest.json as pack writes it: each image's manifest for the platform, if the bundle holds one.
  let dockerManifest: Buffer | undefined;
  if (opts.dockerPlatform) {
    const platform = formatPlatform(parsePlatform(opts.dockerPlatform));
    const loaded = images.map((i) => ({ i, p: i.platforms.find((x) => x.included && x.platform === platform) }));
    dockerManifest = dockerManifestJson(loaded.flatMap(({ i, p }) => (p ? [{ repoTags: [i.ref], config: p.config, layers: p.layers }] : [])));
    if (metadata) {
      metadata.docker = { platform, images: loaded.filter((x) => x.p).map((x) => x.i.ref), missing: loaded.filter((x) => !x.p).map((x) => x.i.ref) };
    }
  }

  const damage = opts.damage ?? [];
  const droppedEntries = new Set(damage.flatMap((d) => (d.kind === 'drop-entry' ? [d.name] : [])));
  const dropped = new Set(damage.flatMap((d) => (d.kind === 'drop-blob' ? [d.digest] : [])));
  const replaced = new Map(damage.flatMap((d) => (d.kind === 'replace' ? [[d.name, d.data] as const] : [])));
  const entries: TestTarEntry[] = [];
  const top = (name: string, data: Buffer): void => {
    if (!droppedEntries.has(name)) entries.push({ name, data: replaced.get(name) ?? data });
  };
  if (metadata) top(BundleEntry.Metadata, Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
  top(BundleEntry.OciLayout, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  top(BundleEntry.Index, Buffer.from(JSON.stringify(index)));
  if (dockerManifest) top(BundleEntry.DockerManifest, dockerManifest);
  if (opts.directories) entries.push({ name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' });
  for (const b of blobs) {
    if (dropped.has(b.digest)) continue;
    entries.push({ name: blobPath(b.digest), data: store.get(b.digest)! });
  }
  for (const d of damage) {
    switch (d.kind) {
      case 'evil-path':
        entries.push({ name: d.name ?? '../evil', data: Buffer.from('owned\n') });
        break;
      case 'absolute-path':
        entries.push({ name: '/etc/cron.d/evil', data: Buffer.from('* * * * * root true\n') });
        break;
      case 'symlink':
        entries.push({ name: 'blobs/sha256/link', type: 'symlink', linkName: '/etc/passwd' });
        break;
      case 'hardlink':
        entries.push({ name: 'hard', type: 'hardlink', linkName: BundleEntry.Index });
        break;
      case 'device':
        entries.push({ name: 'dev-null', type: 'char-device' });
        break;
      case 'duplicate': {
        const digest = d.digest ?? layerBlobs[0]!.digest;
        const original = store.get(digest)!;
        entries.push({ name: blobPath(digest), data: d.same ? original : pseudoRandom('duplicate', original.length) });
        break;
      }
      default:
        break;
    }
  }
  const tar = buildTar(entries, { end: !damage.some((d) => d.kind === 'no-end') });
  let bytes = tar.buffer;
  const rangeOf = (digest: string): { offset: number; size: number } => {
    const e = tar.entries.find((x) => x.name === blobPath(digest));
    if (!e) throw new Error(`blob ${digest} is not in the test bundle`);
    return { offset: e.dataOffset, size: e.size };
  };
  for (const d of damage) {
    if (d.kind === 'flip-byte') {
      const r = rangeOf(d.digest ?? layerBlobs[0]!.digest);
      const at = r.offset + (d.at ?? Math.floor(r.size / 2));
      bytes = Buffer.from(bytes);
      bytes[at] = bytes[at]! ^ 0xff;
    } else if (d.kind === 'truncate') {
      const at = d.at === 'mid-last-layer' ? (() => {
        const r = rangeOf(layerBlobs.at(-1)!.digest);
        return r.offset + Math.floor(r.size / 2);
      })() : d.at;
      bytes = bytes.subarray(0, at);
    }
  }
  const dir = opts.dir ?? (await makeTempDir()).dir;
  await mkdir(dir, { recursive: true });
  const path = join(dir, opts.name ?? `bundle-${process.pid}-${counter++}.tar`);
  await writeFile(path, bytes);
  return {
    path,
    dir,
    bytes,
    images,
    store,
    metadata,
    entries: tar.entries,
    blobRange: rangeOf,
    usersOf: (digest) => [...(users.get(digest) ?? [])].sort(),
  };
}
