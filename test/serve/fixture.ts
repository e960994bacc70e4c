import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/**
 * Small bundles built from scratch for the serve tests: real (uncompressed tar) layers with correct
 * diff_ids so containerd can unpack them, multi-platform indexes, platforms left out on purpose
 * (included: false), shared layers, OCI or Docker media types. Written in the bundle format's
 * entry order (docs/bundle-format.md).
 */

export interface FixtureImageSpec {
  /** full reference, e.g. registry.k8s.io/pause:3.9 */
  ref: string;
  /** an index over these platforms; omitted: one plain manifest for linux/amd64 */
  platforms?: string[];
  /** platforms listed in the index but left out of the bundle (metadata says included: false) */
  excluded?: string[];
  /** Docker schema 2 media types instead of OCI */
  docker?: boolean;
  /** size of each platform's own layer file (default 2 KiB) */
  layerSize?: number;
  /** add the fixture's shared layer under this image's own layer */
  shared?: boolean;
  /** index.json annotations in place of the two full-name ones (e.g. only a bare ref.name, as ctr export writes) */
  annotations?: Record<string, string>;
  /** damage: leave the first platform's own layer out of the tar (the metadata still says included) */
  dropLayer?: boolean;
}

export interface FixtureManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface FixtureImage {
  ref: string;
  annotations?: Record<string, string>;
  /** the top descriptor: an index or a manifest */
  digest: string;
  mediaType: string;
  size: number;
  /** per platform: its manifest, config and layers (excluded platforms too: they are not in the bundle) */
  platforms: { platform: string; included: boolean; manifest: FixtureManifest; config: string; layers: string[] }[];
}

export interface FixtureBundle {
  path: string;
  images: FixtureImage[];
  /** every blob in the bundle, by digest */
  blobs: Map<string, Buffer>;
  /** digests of content left out on purpose (excluded platforms) */
  missing: Set<string>;
  image(ref: string): FixtureImage;
}

const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};
const DOCKER = {
  index: 'application/vnd.docker.distribution.manifest.list.v2+json',
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar',
};

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A one-file uncompressed tar, as a layer. */
async function layerTar(file: string, content: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: file, size: content.length, mode: 0o644, mtime: new Date(0) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function platformObject(p: string): Record<string, string> {
  const [os, architecture, variant] = p.split('/');
  return variant ? { os: os!, architecture: architecture!, variant } : { os: os!, architecture: architecture! };
}

export async function writeFixtureBundle(path: string, specs: FixtureImageSpec[]): Promise<FixtureBundle> {
  const manifestBlobs = new Map<string, Buffer>();
  const configBlobs = new Map<string, Buffer>();
  const layerBlobs = new Map<string, Buffer>();
  const missing = new Set<string>();
  const images: FixtureImage[] = [];
  const shared = await layerTar('shared.txt', randomBytes(4096));

  for (const spec of specs) {
    const mt = spec.docker ? DOCKER : OCI;
    const platforms = spec.platforms ?? ['linux/amd64'];
    const built: FixtureImage['platforms'] = [];
    for (const platform of platforms) {
      const included = !spec.excluded?.includes(platform);
      const own = await layerTar(`hello-${platform.replaceAll('/', '-')}.txt`, randomBytes(spec.layerSize ?? 2048));
      const layers = spec.shared ? [shared, own] : [own];
      const config = Buffer.from(JSON.stringify({
        ...platformObject(platform),
        config: { Cmd: ['/hello'] },
        rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
      }));
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: mt.manifest,
        config: { mediaType: mt.config, digest: sha256(config), size: config.length },
        layers: layers.map((l) => ({ mediaType: mt.layer, digest: sha256(l), size: l.length })),
      }));
      const m: FixtureManifest = { digest: sha256(manifest), mediaType: mt.manifest, bytes: manifest };
      if (included) {
        manifestBlobs.set(m.digest, manifest);
        configBlobs.set(sha256(config), config);
        for (const l of layers) if (!(spec.dropLayer && built.length === 0 && l === own)) layerBlobs.set(sha256(l), l);
      } else {
        missing.add(m.digest);
        missing.add(sha256(config));
        missing.add(sha256(own));
      }
      built.push({ platform, included, manifest: m, config: sha256(config), layers: layers.map(sha256) });
    }
    if (spec.platforms) {
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: mt.index,
        manifests: built.map((b) => ({ mediaType: mt.manifest, digest: b.manifest.digest, size: b.manifest.bytes.length, platform: platformObject(b.platform) })),
      }));
      manifestBlobs.set(sha256(index), index);
      images.push({ ref: spec.ref, annotations: spec.annotations, digest: sha256(index), mediaType: mt.index, size: index.length, platforms: built });
    } else {
      const only = built[0]!;
      images.push({ ref: spec.ref, annotations: spec.annotations, digest: only.manifest.digest, mediaType: mt.manifest, size: only.manifest.bytes.length, platforms: built });
    }
  }
  // A layer shared with an included platform is not missing.
  for (const d of [...missing]) if (layerBlobs.has(d) || configBlobs.has(d)) missing.delete(d);

  images.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  const index = {
    schemaVersion: 2,
    mediaType: OCI.index,
    manifests: images.map((i) => ({
      mediaType: i.mediaType,
      digest: i.digest,
      size: i.size,
      annotations: i.annotations ?? { 'io.containerd.image.name': i.ref, 'org.opencontainers.image.ref.name': i.ref },
    })),
  };
  const blobs = new Map<string, Buffer>([...manifestBlobs, ...configBlobs, ...layerBlobs]);
  const metadata = {
    formatVersion: 1,
    tool: { name: 'airgap', version: '0.1.0' },
    created: '2026-01-01T00:00:00Z',
    kubernetes: null,
    platforms: 'all',
    images: images.map((i) => ({
      ref: i.ref,
      digest: i.digest,
      mediaType: i.mediaType,
      size: i.size,
      role: 'extra',
      ...(i.mediaType === OCI.index || i.mediaType === DOCKER.index
        ? { platforms: i.platforms.map((p) => ({ platform: p.platform, digest: p.manifest.digest, included: p.included })) }
        : {}),
    })),
    blobs: { count: blobs.size, size: [...blobs.values()].reduce((n, b) => n + b.length, 0), sizeWithoutDedup: 0 },
  };

  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(path));
  const add = (name: string, data: Buffer): void => {
    pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, data);
  };
  add('airgap-bundle.json', Buffer.from(JSON.stringify(metadata)));
  add('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  add('index.json', Buffer.from(JSON.stringify(index)));
  for (const [d, b] of [...manifestBlobs, ...configBlobs, ...layerBlobs]) add(`blobs/sha256/${d.slice('sha256:'.length)}`, b);
  pack.finalize();
  await out;

  return {
    path,
    images,
    blobs,
    missing,
    image(ref: string): FixtureImage {
      const i = images.find((x) => x.ref === ref);
      if (!i) throw new Error(`fixture has no image ${ref}`);
      return i;
    },
  };
}
