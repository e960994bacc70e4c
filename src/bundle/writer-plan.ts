import type { Descriptor } from '../oci/descriptor.js';
import { Annotation } from '../oci/descriptor.js';
import { digestAlgorithm, digestOf, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-type.js';
import { blobPath, BundleEntry, type BundleMetadata } from './metadata.js';
import { planTarLayout, type TarLayout, type TarLayoutEntry } from './tar-layout.js';

/**
 * The whole bundle, planned before any layer moves (docs/bundle-format.md): metadata, oci-layout,
 * index.json, manifest.json (docker load), every manifest, every config, then every layer, each blob once. Entries with `data`
 * are held in memory (all small); entries with `file` (the executables of --include-loader, ~100 MiB
 * each) are copied from their file by the writer; layers are streamed into place by a writer.
 */

export type PlannedEntryKind = 'metadata' | 'oci-layout' | 'index' | 'docker-manifest' | 'loader' | 'manifest' | 'config' | 'layer';

export interface PlannedEntry extends TarLayoutEntry {
  readonly kind: PlannedEntryKind;
  /** for blobs */
  readonly descriptor?: Descriptor;
  /** the bytes of every entry but layers and files */
  readonly data?: Buffer;
  /** an entry copied from a file, checked against the size and digest it had when planned */
  readonly file?: PlannedFile;
}

export interface PlannedFile {
  readonly path: string;
  readonly digest: Digest;
}

/** A file carried in the bundle as is (an executable): its size and digest as the metadata records them. */
export interface BundlePlanFile {
  /** the entry name at the top of the tar */
  name: string;
  path: string;
  size: number;
  digest: Digest;
}

export interface BundlePlanImage {
  /** full normalized reference: registry.k8s.io/pause:3.9 */
  ref: string;
  /** the image's top descriptor exactly as upstream serves it (an index keeps its digest) */
  descriptor: Descriptor;
}

export interface BundleBlobWithData {
  descriptor: Descriptor;
  data: Buffer;
}

export interface BundlePlanInput {
  metadata: BundleMetadata;
  images: readonly BundlePlanImage[];
  /** manifests and indexes, in the order they are to be stored */
  manifests: readonly BundleBlobWithData[];
  configs: readonly BundleBlobWithData[];
  layers: readonly Descriptor[];
  /** manifest.json, the docker-archive index for `docker load` (./docker-manifest.ts), right after index.json */
  dockerManifest?: Buffer;
  /** executables carried outside the OCI layout (metadata.loaders lists them), mode 0755 */
  loaders?: readonly BundlePlanFile[];
  /** seconds since the epoch, for every tar header */
  mtime: number;
}

export interface BundlePlan {
  readonly layout: TarLayout;
  readonly entries: readonly PlannedEntry[];
  /** blob entries by digest */
  readonly blobs: ReadonlyMap<string, PlannedEntry>;
  readonly layers: readonly PlannedEntry[];
  readonly metadata: BundleMetadata;
  /** total bytes of the bundle */
  readonly size: number;
  /** same id = same entries at the same offsets (a partial file of one is valid for the other) */
  readonly id: string;
}

export const OCI_LAYOUT_BYTES = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/**
 * The media type index.json declares for an image's top manifest. Docker manifest lists and
 * manifests are declared as their OCI twins (same bytes, same digest; the formats are structurally
 * identical): containers/image (skopeo, podman) refuses any other type in an OCI layout's
 * index.json, and containerd reads both alike. The blob's own "mediaType" field keeps the truth.
 */
export function indexMediaType(mediaType: string): string {
  if (mediaType === MediaType.DockerManifestList) return MediaType.OciIndex;
  if (mediaType === MediaType.DockerManifest) return MediaType.OciManifest;
  return mediaType;
}

/** index.json: one entry per reference, sorted, named for containerd and for OCI layout readers. */
export function encodeIndexJson(images: readonly BundlePlanImage[]): Buffer {
  const seen = new Set<string>();
  const manifests = [...images]
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
    .filter((i) => (seen.has(i.ref) ? false : (seen.add(i.ref), true)))
    .map((i) => ({
      mediaType: indexMediaType(i.descriptor.mediaType),
      digest: i.descriptor.digest,
      size: i.descriptor.size,
      annotations: { [Annotation.ContainerdImageName]: i.ref, [Annotation.RefName]: i.ref },
    }));
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
}

export function encodeMetadata(metadata: BundleMetadata): Buffer {
  return Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`);
}

export function planBundle(input: BundlePlanInput): BundlePlan {
  type Pending = { name: string; size: number; kind: PlannedEntryKind; descriptor?: Descriptor; data?: Buffer; file?: PlannedFile; mode?: number };
  const pending: Pending[] = [];
  const metadata = encodeMetadata(input.metadata);
  pending.push({ name: BundleEntry.Metadata, size: metadata.byteLength, kind: 'metadata', data: metadata });
  pending.push({ name: BundleEntry.OciLayout, size: OCI_LAYOUT_BYTES.byteLength, kind: 'oci-layout', data: OCI_LAYOUT_BYTES });
  const index = encodeIndexJson(input.images);
  pending.push({ name: BundleEntry.Index, size: index.byteLength, kind: 'index', data: index });
  const docker = input.dockerManifest;
  if (docker) pending.push({ name: BundleEntry.DockerManifest, size: docker.byteLength, kind: 'docker-manifest', data: docker });
  for (const l of input.loaders ?? []) pending.push({ name: l.name, size: l.size, kind: 'loader', file: { path: l.path, digest: l.digest }, mode: 0o755 });

  const seen = new Set<string>();
  const addBlob = (kind: PlannedEntryKind, descriptor: Descriptor, data?: Buffer): void => {
    if (seen.has(descriptor.digest)) return; // each blob once, at its first place
    seen.add(descriptor.digest);
    if (data && (data.byteLength !== descriptor.size || digestOf(data, digestAlgorithm(descriptor.digest)) !== descriptor.digest)) {
      throw new Error(`planned ${kind} ${descriptor.digest} does not match the bytes given for it`);
    }
    pending.push({ name: blobPath(descriptor.digest), size: descriptor.size, kind, descriptor, data });
  };
  for (const m of input.manifests) addBlob('manifest', m.descriptor, m.data);
  for (const c of input.configs) addBlob('config', c.descriptor, c.data);
  for (const l of input.layers) addBlob('layer', l);

  const layout = planTarLayout(pending, input.mtime);
  const entries: PlannedEntry[] = layout.entries.map((e, i) => {
    const p = pending[i]!;
    return { ...e, kind: p.kind, ...(p.descriptor ? { descriptor: p.descriptor } : {}), ...(p.data ? { data: p.data } : {}), ...(p.file ? { file: p.file } : {}) };
  });
  const blobs = new Map<string, PlannedEntry>();
  for (const e of entries) if (e.descriptor) blobs.set(e.descriptor.digest, e);
  return {
    layout,
    entries,
    blobs,
    layers: entries.filter((e) => e.kind === 'layer'),
    metadata: input.metadata,
    size: layout.size,
    id: layout.id,
  };
}
