import type { Descriptor } from './descriptor.js';
import { MediaType, normalizeMediaType } from './media-type.js';

/**
 * Docker media types to their OCI twins (pack --oci-media-types). The formats are structurally the
 * same; only the type strings differ, so a manifest is converted by rewriting them — the config and
 * layer bytes stay as they are, the manifest (and every index above it) gets a new digest.
 */

const DOCKER_TO_OCI: ReadonlyMap<string, string> = new Map([
  [MediaType.DockerManifestList, MediaType.OciIndex],
  [MediaType.DockerManifest, MediaType.OciManifest],
  [MediaType.DockerConfig, MediaType.OciConfig],
  [MediaType.DockerLayer, MediaType.OciLayer],
  [MediaType.DockerLayerGzip, MediaType.OciLayerGzip],
  [MediaType.DockerLayerZstd, MediaType.OciLayerZstd],
  [MediaType.DockerForeignLayer, MediaType.OciLayerNondistributable],
  [MediaType.DockerForeignLayerGzip, MediaType.OciLayerNondistributableGzip],
]);

/** The OCI media type for a Docker one; any other type (OCI already, artifacts) unchanged. */
export function ociMediaTypeOf(mediaType: string): string {
  return DOCKER_TO_OCI.get(normalizeMediaType(mediaType)) ?? mediaType;
}

type Json = Record<string, unknown>;

function retype(d: unknown): void {
  if (typeof d === 'object' && d !== null && typeof (d as Json).mediaType === 'string') {
    (d as Json).mediaType = ociMediaTypeOf((d as Json).mediaType as string);
  }
}

/**
 * A manifest or index (already validated by parseManifest) with OCI media types: its own, its
 * config's and its layers'; an index's children found in `children` (by their old digest) become
 * the descriptors given there, the others keep theirs. Every other field stays, in its order.
 * The same bytes come back when nothing changes, so OCI content keeps its upstream digest.
 */
export function withOciMediaTypes(bytes: Buffer, children: ReadonlyMap<string, Descriptor> = new Map()): Buffer {
  const doc = JSON.parse(bytes.toString('utf8')) as Json;
  const before = JSON.stringify(doc);
  retype(doc);
  retype(doc.config);
  if (Array.isArray(doc.layers)) doc.layers.forEach(retype);
  if (Array.isArray(doc.manifests)) {
    doc.manifests = doc.manifests.map((c: Json) => {
      const next = typeof c.digest === 'string' ? children.get(c.digest) : undefined;
      return next ? { ...c, mediaType: next.mediaType, digest: next.digest, size: next.size } : c;
    });
  }
  const after = JSON.stringify(doc);
  return after === before ? bytes : Buffer.from(after);
}
