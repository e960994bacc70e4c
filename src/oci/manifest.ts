import { digestOf, type Digest } from './digest.js';
import { validateDescriptor, type Descriptor } from './descriptor.js';
import { InvalidManifestError } from './errors.js';
import { isSchema1MediaType, manifestKind, MediaType, normalizeMediaType } from './media-type.js';

/** Registries refuse manifests above 4 MiB; so do we, before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Far beyond any real image (the layer limit of overlayfs is 128); bounds hostile input. */
export const MAX_LAYERS = 1000;
export const MAX_INDEX_ENTRIES = 10000;

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; digest: Digest; size: number; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; digest: Digest; size: number; manifest: ImageManifest };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse and validate manifest or index JSON from untrusted bytes. The media type comes from the
 * document, else from the transport (Content-Type or descriptor), else from its shape.
 */
export function parseManifest(bytes: Uint8Array, mediaTypeHint?: string): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new InvalidManifestError(`${bytes.byteLength} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit for manifests`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new InvalidManifestError(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new InvalidManifestError('not a JSON object');
  const hint = normalizeMediaType(mediaTypeHint);
  if (doc.schemaVersion === 1 || isSchema1MediaType(hint)) {
    manifestKind(MediaType.DockerSchema1); // throws the schema 1 explanation
  }
  if (doc.schemaVersion !== 2) throw new InvalidManifestError(`schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  let mediaType = typeof doc.mediaType === 'string' ? normalizeMediaType(doc.mediaType) : '';
  if (!mediaType) {
    if (hint && hint !== 'application/json' && hint !== 'application/octet-stream' && hint !== 'text/plain') mediaType = hint;
    else if (Array.isArray(doc.manifests)) mediaType = MediaType.OciIndex;
    else if (isObject(doc.config) && Array.isArray(doc.layers)) mediaType = MediaType.OciManifest;
    else throw new InvalidManifestError('no mediaType and the shape is neither an index nor a manifest');
  }
  const kind = manifestKind(mediaType);
  const digest = digestOf(bytes);
  const size = bytes.byteLength;
  if (kind === 'index') {
    if (!Array.isArray(doc.manifests)) throw new InvalidManifestError('index has no manifests array', { digest });
    if (doc.manifests.length > MAX_INDEX_ENTRIES) {
      throw new InvalidManifestError(`index has ${doc.manifests.length} entries, over the limit of ${MAX_INDEX_ENTRIES}`, { digest });
    }
    const manifests = doc.manifests.map((m, i) => validateDescriptor(m, `manifests[${i}]`));
    const index: ImageIndex = { schemaVersion: 2, mediaType, manifests };
    if (doc.subject !== undefined) index.subject = validateDescriptor(doc.subject, 'subject');
    if (isObject(doc.annotations)) index.annotations = doc.annotations as Record<string, string>;
    return { kind, mediaType, digest, size, index };
  }
  if (!isObject(doc.config)) throw new InvalidManifestError('manifest has no config', { digest });
  if (!Array.isArray(doc.layers)) throw new InvalidManifestError('manifest has no layers array', { digest });
  if (doc.layers.length > MAX_LAYERS) {
    throw new InvalidManifestError(`manifest has ${doc.layers.length} layers, over the limit of ${MAX_LAYERS}`, { digest });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: validateDescriptor(doc.config, 'config'),
    layers: doc.layers.map((l, i) => validateDescriptor(l, `layers[${i}]`)),
  };
  if (doc.subject !== undefined) manifest.subject = validateDescriptor(doc.subject, 'subject');
  if (typeof doc.artifactType === 'string') manifest.artifactType = doc.artifactType;
  if (isObject(doc.annotations)) manifest.annotations = doc.annotations as Record<string, string>;
  return { kind, mediaType, digest, size, manifest };
}

/** The descriptors a manifest points at, in document order: an index's manifests, or config then layers. */
export function childrenOf(m: ParsedManifest): Descriptor[] {
  return m.kind === 'index' ? m.index.manifests : [m.manifest.config, ...m.manifest.layers];
}
