import { digestOf, type Digest } from './digest.js';
import { validateAnnotations, validateDescriptor, type Descriptor } from './descriptor.js';
import { InvalidManifestError } from './errors.js';
import { isManifestMediaType, isSchema1MediaType, manifestKind, MediaType, normalizeMediaType, schema1Error } from './media-type.js';
import { show } from './show.js';

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
  artifactType?: string;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; digest: Digest; size: number; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; digest: Digest; size: number; manifest: ImageManifest };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Content types that say nothing about the manifest: fall back to the document's shape. */
const GENERIC_TYPES = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

/**
 * Parse and validate manifest or index JSON from untrusted bytes. The media type comes from the
 * document, else from the transport (Content-Type or descriptor), else from its shape. As
 * containerd does, a document whose fields contradict its type (an index with layers, a manifest
 * with manifests, a Content-Type of the other kind) is refused: that confusion is an attack vector.
 */
export function parseManifest(bytes: Uint8Array, mediaTypeHint?: string): ParsedManifest {
  if (!(bytes instanceof Uint8Array)) throw new InvalidManifestError(`expected bytes, got ${show(bytes)}`);
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new InvalidManifestError(`${bytes.byteLength} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit for manifests`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    // V8 quotes part of the input in its message: escape it like any other untrusted text.
    throw new InvalidManifestError(`not valid JSON: ${show((e as Error).message, 200)}`);
  }
  if (!isObject(doc)) throw new InvalidManifestError(`the JSON is ${show(doc)}, not an object`);
  const hint = normalizeMediaType(mediaTypeHint);
  if (doc.mediaType != null && typeof doc.mediaType !== 'string') {
    throw new InvalidManifestError(`mediaType is ${show(doc.mediaType)}, not a string`);
  }
  const declared = normalizeMediaType(doc.mediaType as string | undefined);
  if (doc.schemaVersion === 1 || isSchema1MediaType(declared) || isSchema1MediaType(hint)) {
    throw schema1Error(isSchema1MediaType(declared) ? declared : isSchema1MediaType(hint) ? hint : MediaType.DockerSchema1);
  }
  if (doc.schemaVersion !== 2) {
    throw new InvalidManifestError(
      doc.schemaVersion === undefined ? 'no schemaVersion (expected 2)' : `schemaVersion is ${show(doc.schemaVersion)}, expected 2`,
    );
  }
  const hasManifests = doc.manifests != null;
  const hasImageFields = doc.config != null || doc.layers != null;
  let mediaType = declared;
  if (!mediaType) {
    if (!GENERIC_TYPES.has(hint)) mediaType = hint;
    else if (hasManifests && !hasImageFields) mediaType = MediaType.OciIndex;
    else if (hasImageFields && !hasManifests) mediaType = MediaType.OciManifest;
    else throw new InvalidManifestError('no mediaType, and the shape is neither an index (manifests) nor a manifest (config, layers)');
  }
  const kind = manifestKind(mediaType);
  const digest = digestOf(bytes);
  const size = bytes.byteLength;
  if (declared && isManifestMediaType(hint) && manifestKind(hint) !== kind) {
    throw new InvalidManifestError(`the document says it is ${show(declared)} but was served or referenced as ${show(hint)}`, {
      digest,
      mediaType: declared,
      expected: hint,
    });
  }
  if (kind === 'index') {
    if (hasImageFields) throw new InvalidManifestError(`index (${mediaType}) has config or layers fields, which only image manifests have`, { digest });
    if (!Array.isArray(doc.manifests)) {
      throw new InvalidManifestError(hasManifests ? `index manifests is ${show(doc.manifests)}, not an array` : 'index has no manifests array', { digest });
    }
    if (doc.manifests.length > MAX_INDEX_ENTRIES) {
      throw new InvalidManifestError(`index has ${doc.manifests.length} entries, over the limit of ${MAX_INDEX_ENTRIES}`, { digest });
    }
    const manifests = doc.manifests.map((m, i) => validateDescriptor(m, `manifests[${i}]`));
    const index: ImageIndex = { schemaVersion: 2, mediaType, manifests };
    if (doc.subject != null) index.subject = validateDescriptor(doc.subject, 'subject');
    if (doc.artifactType != null) index.artifactType = stringField(doc.artifactType, 'artifactType', digest);
    if (doc.annotations != null) index.annotations = validateAnnotations(doc.annotations, 'index', { digest });
    return { kind, mediaType, digest, size, index };
  }
  if (hasManifests) throw new InvalidManifestError(`image manifest (${mediaType}) has a manifests field, which only indexes have`, { digest });
  if (!isObject(doc.config)) {
    throw new InvalidManifestError(doc.config == null ? 'manifest has no config' : `manifest config is ${show(doc.config)}, not an object`, { digest });
  }
  if (!Array.isArray(doc.layers)) {
    throw new InvalidManifestError(doc.layers == null ? 'manifest has no layers array' : `manifest layers is ${show(doc.layers)}, not an array`, { digest });
  }
  if (doc.layers.length > MAX_LAYERS) {
    throw new InvalidManifestError(`manifest has ${doc.layers.length} layers, over the limit of ${MAX_LAYERS}`, { digest });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: validateDescriptor(doc.config, 'config'),
    layers: doc.layers.map((l, i) => validateDescriptor(l, `layers[${i}]`)),
  };
  if (doc.subject != null) manifest.subject = validateDescriptor(doc.subject, 'subject');
  if (doc.artifactType != null) manifest.artifactType = stringField(doc.artifactType, 'artifactType', digest);
  if (doc.annotations != null) manifest.annotations = validateAnnotations(doc.annotations, 'manifest', { digest });
  return { kind, mediaType, digest, size, manifest };
}

function stringField(v: unknown, name: string, digest: string): string {
  if (typeof v !== 'string') throw new InvalidManifestError(`${name} is ${show(v)}, not a string`, { digest });
  return v;
}

/** The descriptors a manifest points at, in document order: an index's manifests, or config then layers. */
export function childrenOf(m: ParsedManifest): Descriptor[] {
  return m.kind === 'index' ? m.index.manifests : [m.manifest.config, ...m.manifest.layers];
}
