import { UnsupportedMediaTypeError } from './errors.js';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type ManifestKind = 'index' | 'manifest';

const INDEX_TYPES = new Set<string>([MediaType.OciIndex, MediaType.DockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);
const SCHEMA1_TYPES = new Set<string>([MediaType.DockerSchema1, MediaType.DockerSchema1Signed]);

/** The Accept header value for manifest requests: every manifest and index type we read. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

/** Strip parameters ("; charset=utf-8") and case, as registries add them freely. */
export function normalizeMediaType(mt: string | null | undefined): string {
  return (typeof mt === 'string' ? mt : '').split(';')[0]!.trim().toLowerCase();
}

export function isIndexMediaType(mt: string): boolean {
  return INDEX_TYPES.has(normalizeMediaType(mt));
}

export function isImageManifestMediaType(mt: string): boolean {
  return MANIFEST_TYPES.has(normalizeMediaType(mt));
}

/** Manifests and indexes: the nodes of an image graph that hold JSON we must read. */
export function isManifestMediaType(mt: string): boolean {
  return isIndexMediaType(mt) || isImageManifestMediaType(mt);
}

export function isSchema1MediaType(mt: string): boolean {
  return SCHEMA1_TYPES.has(normalizeMediaType(mt));
}

const NON_DISTRIBUTABLE_TYPES = new Set<string>([
  MediaType.OciLayerNondistributable,
  MediaType.OciLayerNondistributableGzip,
  MediaType.OciLayerNondistributableZstd,
  MediaType.DockerForeignLayer,
  MediaType.DockerForeignLayerGzip,
]);

/**
 * Layers a registry may not hold (Windows base layers): their descriptor carries `urls` and
 * registries answer 404 for the blob unless it was pushed with --allow-nondistributable-artifacts.
 */
export function isNonDistributableMediaType(mt: string): boolean {
  return NON_DISTRIBUTABLE_TYPES.has(normalizeMediaType(mt));
}

/** The error for a Docker schema 1 manifest, with the explanation and the way out. */
export function schema1Error(mt: string = MediaType.DockerSchema1, details: Record<string, unknown> = {}): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(mt, undefined, details);
}

/** Which kind of manifest a media type is; schema 1 and unknown types are refused with the reason. */
export function manifestKind(mt: string): ManifestKind {
  if (isIndexMediaType(mt)) return 'index';
  if (isImageManifestMediaType(mt)) return 'manifest';
  if (isSchema1MediaType(mt)) throw schema1Error(mt);
  if (!normalizeMediaType(mt)) {
    throw new UnsupportedMediaTypeError('', undefined, {}, 'the manifest has no media type, so it is neither an image manifest nor an index');
  }
  throw new UnsupportedMediaTypeError(mt);
}
