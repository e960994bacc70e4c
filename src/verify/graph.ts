import type { BundleImage } from '../bundle/metadata.js';
import type { BundleReader, BundleRef } from '../bundle/reader.js';
import type { TarEntry } from '../bundle/tar-index.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { ParsedManifest } from '../oci/manifest.js';
import { isIndexMediaType, isManifestMediaType, MediaType, normalizeMediaType } from '../oci/media-type.js';
import { formatPlatform, normalizePlatform, type Platform } from '../oci/platform.js';

/**
 * The image graph of a bundle, walked from index.json through every index and manifest (read whole
 * and verified: they are small) down to configs and layers, without reading a layer byte. Records
 * who uses each blob, what is missing and whether its absence was chosen (the platform filter).
 */

export type NodeKind = 'index' | 'manifest' | 'config' | 'layer' | 'blob';
export type EdgeRelation = 'image' | 'platform' | 'config' | 'layer' | 'child';

export interface GraphNode {
  digest: Digest;
  kind: NodeKind;
  mediaType: string;
  /** Every size a descriptor declared for it (one, unless the bundle is inconsistent). */
  declaredSizes: Set<number>;
  /** Names of the images that use it. */
  users: Set<string>;
  entry: TarEntry | undefined;
  /** Manifests and indexes that were read, verified and parsed. */
  parsed?: ParsedManifest;
  /** Why reading this manifest or config failed (digest, size, JSON). */
  error?: Error;
  /** Read whole and hashed during the walk: integrity need not hash it again. */
  verified: boolean;
}

export interface MissingEdge {
  /** The manifest or index that points at it; null for an index.json entry. */
  parent: Digest | null;
  child: Descriptor;
  relation: EdgeRelation;
  platform?: string;
  images: Set<string>;
  /** The metadata records this platform as left out on purpose (included: false). */
  byChoice: boolean;
  /** A foreign (non-distributable) layer with URLs: runtimes fetch it from there. */
  foreign: boolean;
}

export interface PlatformChild {
  platform: string;
  descriptor: Descriptor;
  /** A BuildKit attestation or another non-runnable entry (unknown/unknown): not a platform. */
  attestation: boolean;
  /** The manifest and every blob under it. */
  digests: Set<Digest>;
  present: boolean;
  /** Metadata says included: false. */
  byChoice: boolean;
  /** Metadata says included: true. */
  recordedIncluded: boolean;
}

export interface GraphImage {
  /** index.json name, or "<unnamed #N>" */
  ref: string;
  named: boolean;
  bundleRef: BundleRef;
  meta: BundleImage | undefined;
  /** Every digest reachable from it, present or not. */
  digests: Set<Digest>;
  /** Index children, or the one platform of a single manifest (from its config). */
  platforms: PlatformChild[];
}

export interface ImageGraph {
  images: GraphImage[];
  nodes: Map<string, GraphNode>;
  missing: MissingEdge[];
  /** Manifests deeper than this are not followed (hostile nesting). */
  tooDeep: { digest: Digest; images: Set<string> }[];
}

const MAX_DEPTH = 8;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

function isForeign(d: Descriptor): boolean {
  const mt = normalizeMediaType(d.mediaType);
  return (d.urls?.length ?? 0) > 0 &&
    (mt === MediaType.DockerForeignLayerGzip || mt.includes('nondistributable'));
}

/** "linux/arm64"; "unknown" for no platform or unknown/unknown (attestations), as the metadata writes it. */
export function platformLabel(p: Platform | undefined): string {
  return p && p.os !== 'unknown' ? formatPlatform(normalizePlatform(p)) : 'unknown';
}

export async function walkGraph(reader: BundleReader): Promise<ImageGraph> {
  const nodes = new Map<string, GraphNode>();
  const missing: MissingEdge[] = [];
  const missingByKey = new Map<string, MissingEdge>();
  const tooDeep: ImageGraph['tooDeep'] = [];
  const metaByRef = new Map<string, BundleImage>();
  for (const m of reader.metadata?.images ?? []) metaByRef.set(m.ref, m);

  const node = (d: Descriptor, kind: NodeKind): GraphNode => {
    let n = nodes.get(d.digest);
    if (!n) {
      n = { digest: d.digest, kind, mediaType: d.mediaType, declaredSizes: new Set(), users: new Set(), entry: reader.blobEntry(d.digest), verified: false };
      nodes.set(d.digest, n);
    }
    n.declaredSizes.add(d.size);
    return n;
  };

  const addMissing = (edge: Omit<MissingEdge, 'images'>, image: string): void => {
    const key = `${edge.parent ?? ''}>${edge.child.digest}`;
    let m = missingByKey.get(key);
    if (!m) {
      m = { ...edge, images: new Set() };
      missingByKey.set(key, m);
      missing.push(m);
    }
    m.images.add(image);
  };

  const readManifest = async (n: GraphNode, d: Descriptor): Promise<void> => {
    if (n.parsed || n.error) return;
    try {
      n.parsed = await reader.readManifest(d);
      n.verified = true;
    } catch (e) {
      n.error = e as Error;
    }
  };

  const visit = async (
    d: Descriptor,
    img: GraphImage,
    relation: EdgeRelation,
    parent: Digest | null,
    sinks: Set<Digest>[],
    child: PlatformChild | undefined,
    depth: number,
  ): Promise<void> => {
    const manifestLike = isManifestMediaType(d.mediaType);
    const kind: NodeKind = relation === 'config' ? 'config' : relation === 'layer' ? 'layer' : manifestLike ? (isIndexMediaType(d.mediaType) ? 'index' : 'manifest') : 'blob';
    const n = node(d, kind);
    n.users.add(img.ref);
    img.digests.add(d.digest);
    for (const s of sinks) s.add(d.digest);
    if (!n.entry) {
      addMissing({
        parent,
        child: d,
        relation,
        ...(child ? { platform: child.platform } : {}),
        byChoice: relation === 'platform' && (child?.byChoice ?? false),
        foreign: isForeign(d),
      }, img.ref);
      return;
    }
    if (!manifestLike) return;
    if (depth > MAX_DEPTH) {
      tooDeep.push({ digest: d.digest, images: new Set([img.ref]) });
      return;
    }
    await readManifest(n, d);
    const m = n.parsed;
    if (!m) return;
    if (m.kind === 'index') {
      for (const c of m.index.manifests) {
        // Only the top index's children are the image's platforms; nested indexes stay one platform.
        if (depth === 0) {
          const pc = platformChild(c, img);
          img.platforms.push(pc);
          await visit(c, img, 'platform', m.digest, [...sinks, pc.digests], pc, depth + 1);
          pc.present = reader.blobEntry(c.digest) !== undefined;
        } else {
          await visit(c, img, 'child', m.digest, sinks, child, depth + 1);
        }
      }
    } else {
      await visit(m.manifest.config, img, 'config', m.digest, sinks, child, depth + 1);
      for (const l of m.manifest.layers) await visit(l, img, 'layer', m.digest, sinks, child, depth + 1);
    }
  };

  const platformChild = (c: Descriptor, img: GraphImage): PlatformChild => {
    const rec = img.meta?.platforms?.find((p) => p.digest === c.digest);
    return {
      platform: platformLabel(c.platform),
      descriptor: c,
      attestation: isAttestation(c),
      digests: new Set(),
      present: false,
      byChoice: rec ? !rec.included : false,
      recordedIncluded: rec?.included ?? false,
    };
  };

  const images: GraphImage[] = [];
  for (const r of reader.images()) {
    const ref = r.name ?? `<unnamed #${r.position + 1}>`;
    const img: GraphImage = { ref, named: r.name !== undefined, bundleRef: r, meta: r.name ? metaByRef.get(r.name) : undefined, digests: new Set(), platforms: [] };
    images.push(img);
    await visit(r.descriptor, img, 'image', null, [], undefined, 0);
    const top = nodes.get(r.descriptor.digest);
    if (top?.parsed?.kind === 'manifest') {
      // A single-platform image: its platform is in its config.
      const pc: PlatformChild = {
        platform: await configPlatform(reader, top.parsed.manifest.config, nodes),
        descriptor: r.descriptor,
        attestation: false,
        digests: new Set(img.digests),
        present: true,
        byChoice: false,
        recordedIncluded: true,
      };
      img.platforms.push(pc);
    }
  }
  return { images, nodes, missing, tooDeep };
}

/** The platform a single manifest is for, from its (small, verified) config. */
async function configPlatform(reader: BundleReader, config: Descriptor, nodes: Map<string, GraphNode>): Promise<string> {
  const n = nodes.get(config.digest);
  if (!n?.entry || n.error || config.size > MAX_CONFIG_BYTES) return 'unknown';
  try {
    const bytes = await reader.readBlob(config, MAX_CONFIG_BYTES);
    n.verified = true;
    const doc = JSON.parse(bytes.toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof doc.os !== 'string' || typeof doc.architecture !== 'string') return 'unknown';
    return platformLabel({ os: doc.os, architecture: doc.architecture, ...(typeof doc.variant === 'string' && doc.variant ? { variant: doc.variant } : {}) });
  } catch (e) {
    n.error = e as Error;
    return 'unknown';
  }
}

/** An image's identity and the bytes its blobs take in the bundle (each present blob counted once). */
export function imageFootprint(reader: BundleReader, img: GraphImage): { ref: string; digest: string; mediaType: string; role?: string; convertedFrom?: string; size: number; blobs: number } {
  let size = 0;
  let blobs = 0;
  for (const d of img.digests) {
    const e = reader.blobEntry(d);
    if (e) {
      size += e.size;
      blobs++;
    }
  }
  const d = img.bundleRef.descriptor;
  return { ref: img.ref, digest: d.digest, mediaType: d.mediaType, ...(img.meta?.role ? { role: img.meta.role } : {}), ...(img.meta?.convertedFrom ? { convertedFrom: img.meta.convertedFrom } : {}), size, blobs };
}
