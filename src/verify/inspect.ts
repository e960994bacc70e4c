import { openArchive } from '../archive/open.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { imageFootprint, walkGraph } from './graph.js';
import { bundleFacts, type BundleFacts } from './report.js';

/**
 * What a bundle holds, from its metadata, index and manifests only: no layer byte is read, so a
 * bundle of many GB is inspected in milliseconds. Nothing is verified beyond the small files read.
 */

export const INSPECT_SCHEMA_VERSION = 1;

export interface InspectImage {
  ref: string;
  digest: string;
  mediaType: string;
  role?: string;
  source?: string;
  /** --oci-media-types: the upstream digest it was rewritten from. */
  convertedFrom?: string;
  /** Bytes of the distinct blobs of this image that the bundle holds. */
  size: number;
  blobs: number;
  platforms: { platform: string; digest: string; included: boolean }[];
}

export interface InspectReport {
  schemaVersion: typeof INSPECT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  bundle: BundleFacts;
  images: InspectImage[];
  blobs: {
    count: number;
    size: number;
    /** What the images would take each stored on its own. */
    sizeWithoutDedup: number;
    /** Blobs used by more than one image, and the bytes storing them once saves. */
    shared: { count: number; bytesSaved: number };
  };
  /** Damage noticed while reading headers and small files; run airgap verify for the full check. */
  problems: string[];
}

export async function inspectBundle(path: string): Promise<InspectReport> {
  const reader = await openArchive(path, { mode: 'scan', strict: false });
  try {
    const graph = await walkGraph(reader);
    const md = reader.metadata;
    const images: InspectImage[] = graph.images.map((img) => {
      return {
        ...imageFootprint(reader, img),
        ...(img.meta?.source ? { source: img.meta.source } : {}),
        platforms: img.platforms.filter((p) => !p.attestation).map((p) => ({ platform: p.platform, digest: p.descriptor.digest, included: p.present })),
      };
    });
    const digests = reader.blobDigests();
    let size = 0;
    let sharedCount = 0;
    let saved = 0;
    for (const d of digests) {
      const e = reader.blobEntry(d)!;
      size += e.size;
      const users = graph.nodes.get(d)?.users.size ?? 0;
      if (users > 1) {
        sharedCount++;
        saved += e.size * (users - 1);
      }
    }
    const problems = [
      ...reader.tar.issues.filter((i) => i.severity === 'error').map((i) => i.message),
      ...reader.problems.map((p) => p.message),
      ...graph.missing.filter((m) => !m.byChoice && !m.foreign && (md !== null || m.relation !== 'platform')).map((m) => `${m.child.digest} (${m.relation}) is missing`),
    ];
    return {
      schemaVersion: INSPECT_SCHEMA_VERSION,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      bundle: bundleFacts(path, reader),
      images,
      blobs: { count: digests.length, size, sizeWithoutDedup: images.reduce((s, i) => s + i.size, 0), shared: { count: sharedCount, bytesSaved: saved } },
      problems,
    };
  } finally {
    await reader.close();
  }
}
