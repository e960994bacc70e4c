import type { BundleReader } from './reader.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf } from '../oci/digest.js';
import { childrenOf } from '../oci/manifest.js';
import { isIndexMediaType, isManifestMediaType, isNonDistributableMediaType, normalizeMediaType } from '../oci/media-type.js';
import { formatPlatform } from '../oci/platform.js';
import { isReference, parseReference, type ImageReference } from '../oci/reference.js';
import { BundleContentMissingError, BundleGraphTooDeepError, ImageNameUnknownError } from './images-errors.js';

/** Levels of manifests under a root (index -> index -> manifest is 2); deeper is hostile, as verify says too. */
const MAX_DEPTH = 8;

/**
 * The images a bundle holds, as load sees them: a full name, the top descriptor, and the graph of
 * content the bundle really has (an index child left out by the platform filter is absent on
 * purpose, and noted, not an error).
 */

export interface ImageGraph {
  /** Every node under the root (root included) -> its children that the bundle holds. */
  children: Map<string, Descriptor[]>;
  /** Every node the bundle holds for this image, root first. */
  nodes: Descriptor[];
  /** Children of an index that the bundle does not hold (platforms left out on purpose). */
  absent: Descriptor[];
  /** Platforms of the root index the bundle holds ("linux/amd64"); empty for a single manifest. */
  platforms: string[];
  /** Sum of the sizes of nodes. */
  bytes: number;
}

export interface LoadImage {
  /** Full normalized reference: registry.k8s.io/pause:3.9, docker.io/library/nginx:1.27. */
  name: string;
  ref: ImageReference;
  /** The top descriptor (index.json entry, annotations dropped). */
  descriptor: Descriptor;
  role?: string;
  /** The sandbox (pause) image: metadata role "pause", else a repository named …/pause. */
  pause: boolean;
  graph: ImageGraph;
  /**
   * The root index without its absent children, for registries that refuse an index whose
   * children they do not hold (distribution does). Only when some child is absent.
   */
  reduced?: { descriptor: Descriptor; bytes: Buffer };
}

const SHORT_TAG = /^[\w][\w.-]{0,127}$/;

/** The name an index.json entry is loaded as; short ref.names (skopeo's "3.9") need a base name. */
export function fullName(names: readonly string[], digest: string, baseName?: string): ImageReference {
  for (const n of names) {
    if (n.includes('/') && isReference(n)) return parseReference(n);
  }
  for (const n of names) {
    if (SHORT_TAG.test(n) && baseName) return parseReference(`${baseName}:${n}`);
  }
  // "pause:3.9" is a familiar Docker Hub name; docker reads it that way, so do we.
  for (const n of names) {
    if (n.includes(':') && isReference(n)) return parseReference(n);
  }
  throw new ImageNameUnknownError(names[0], digest);
}

/** Walk the graph the bundle holds for one image; a missing blob (not an index child) is damage. */
async function walkGraph(reader: BundleReader, root: Descriptor, image: string): Promise<ImageGraph> {
  const children = new Map<string, Descriptor[]>();
  const nodes: Descriptor[] = [];
  const seen = new Set<string>();
  const absent: Descriptor[] = [];
  let platforms: string[] = [];
  let bytes = 0;
  const visit = async (desc: Descriptor, parentIsIndex: boolean, depth: number): Promise<void> => {
    if (seen.has(desc.digest)) return;
    if (depth > MAX_DEPTH) throw new BundleGraphTooDeepError(image, desc.digest, reader.path, MAX_DEPTH);
    if (!(await reader.exists(desc))) {
      if (parentIsIndex) {
        absent.push(desc);
        return;
      }
      // A foreign (Windows base) layer is fetched from its URLs by the runtime, never stored.
      if (isNonDistributableMediaType(desc.mediaType)) return;
      throw new BundleContentMissingError(image, desc.digest, reader.path);
    }
    seen.add(desc.digest);
    nodes.push(desc);
    bytes += desc.size;
    if (!isManifestMediaType(desc.mediaType)) return;
    const parsed = await reader.readManifest(desc);
    const kids = childrenOf(parsed);
    const isIndex = parsed.kind === 'index';
    const held: Descriptor[] = [];
    for (const k of kids) {
      await visit(k, isIndex, depth + 1);
      if (seen.has(k.digest)) held.push(k);
    }
    children.set(desc.digest, held);
    if (depth === 0 && isIndex) {
      platforms = held.flatMap((k) => (k.platform && k.platform.os !== 'unknown' ? [formatPlatform(k.platform)] : []));
    }
  };
  await visit(root, false, 0);
  return { children, nodes, absent, platforms, bytes };
}

/** The root index with only the children the bundle holds, byte-stable for the same input. */
function reduceIndex(bytes: Buffer, mediaType: string, held: readonly Descriptor[]): { descriptor: Descriptor; bytes: Buffer } {
  const doc = JSON.parse(bytes.toString('utf8')) as { manifests?: { digest?: string }[] };
  const keep = new Set<string>(held.map((d) => d.digest));
  doc.manifests = (doc.manifests ?? []).filter((m) => typeof m.digest === 'string' && keep.has(m.digest));
  const out = Buffer.from(JSON.stringify(doc));
  return { descriptor: { mediaType: normalizeMediaType(mediaType), digest: digestOf(out), size: out.byteLength }, bytes: out };
}

/** …/pause, and Rancher's mirror of it (docker.io/rancher/mirrored-pause: k3s's and RKE2's default sandbox). */
function isPauseName(ref: ImageReference): boolean {
  return /(^|\/)(mirrored-)?pause$/.test(ref.repository);
}

/** Every image of the bundle with its name and graph, in index.json order. */
export async function bundleImages(reader: BundleReader, opts: { baseName?: string } = {}): Promise<LoadImage[]> {
  const roles = new Map((reader.metadata?.images ?? []).map((i) => [i.ref, i.role] as const));
  const hasPauseRole = [...roles.values()].includes('pause');
  const out: LoadImage[] = [];
  const names = new Set<string>();
  for (const entry of reader.images()) {
    // A docker-archive image saved by ID has no name to load it under; the archive's notes say so.
    if (entry.names.length === 0 && reader.docker) continue;
    const ref = fullName(entry.names, entry.descriptor.digest, opts.baseName);
    const name = ref.toString();
    if (names.has(name)) continue;
    names.add(name);
    const { mediaType, digest, size } = entry.descriptor;
    const descriptor: Descriptor = { mediaType, digest, size };
    const graph = await walkGraph(reader, descriptor, name);
    const role = roles.get(name) ?? entry.names.map((n) => roles.get(n)).find((r) => r !== undefined);
    const image: LoadImage = {
      name,
      ref,
      descriptor,
      ...(role ? { role } : {}),
      pause: hasPauseRole ? role === 'pause' : isPauseName(ref),
      graph,
    };
    if (graph.absent.length > 0 && isIndexMediaType(mediaType)) {
      image.reduced = reduceIndex(await reader.readBlob(descriptor), mediaType, graph.children.get(digest) ?? []);
    }
    out.push(image);
  }
  return out;
}

/** The sandbox image containerd should use: the bundle's pause (role first, then by name). */
export function sandboxImageOf(images: readonly LoadImage[]): LoadImage | undefined {
  const pauses = images.filter((i) => i.pause);
  return pauses.find((i) => i.role === 'pause') ?? pauses[0];
}

/** Unique blobs over all images (each counted once) and their bytes. */
export function uniqueContent(images: readonly LoadImage[]): { blobs: number; bytes: number } {
  const seen = new Map<string, number>();
  for (const i of images) for (const n of i.graph.nodes) seen.set(n.digest, n.size);
  let bytes = 0;
  for (const s of seen.values()) bytes += s;
  return { blobs: seen.size, bytes };
}
