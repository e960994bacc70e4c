import type { Digest } from '../oci/digest.js';

/** The entry names of a bundle (docs/bundle-format.md). */
export const BundleEntry = {
  Metadata: 'airgap-bundle.json',
  OciLayout: 'oci-layout',
  Index: 'index.json',
  /** the docker-archive index (`docker load`), for one platform: ./docker-manifest.ts */
  DockerManifest: 'manifest.json',
  BlobsDir: 'blobs',
} as const;

export const BUNDLE_FORMAT_VERSION = 1;

export function blobPath(digest: string): string {
  const i = digest.indexOf(':');
  return `blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}

export interface BundlePlatformEntry {
  /** "linux/arm64/v8" form (normalized) */
  platform: string;
  digest: Digest;
  /** false: left out on purpose by the platform filter; its absence is not damage */
  included: boolean;
  /** pack --oci-media-types: the upstream digest this manifest was rewritten from */
  convertedFrom?: Digest;
}

export interface BundleImage {
  /** full normalized reference, e.g. registry.k8s.io/pause:3.9 */
  ref: string;
  digest: Digest;
  mediaType: string;
  size: number;
  /** kube-apiserver, pause, etcd, … or "extra" */
  role?: string;
  /** where it was pulled from (endpoint URL, never credentials) */
  source?: string;
  /** only for indexes */
  platforms?: BundlePlatformEntry[];
  /** pack --oci-media-types: the upstream digest of the top manifest this one was rewritten from (absent when unchanged) */
  convertedFrom?: Digest;
}

/**
 * How the manifests' media types relate to upstream's: "upstream" (every manifest and index byte
 * for byte as the registry served it, digests unchanged), or "oci-converted" (pack
 * --oci-media-types: Docker manifest lists and manifests rewritten with OCI media types, under new
 * digests; configs and layers unchanged). Bundles from before this field are "upstream".
 */
export type BundleMediaTypes = 'upstream' | 'oci-converted';
export const BUNDLE_MEDIA_TYPES: readonly BundleMediaTypes[] = ['upstream', 'oci-converted'];

/** What the bundle's manifest.json (docker load) holds. */
export interface BundleDocker {
  /** the one platform it names each image for: "linux/amd64" */
  platform: string;
  /** references (index.json names) manifest.json loads */
  images: string[];
  /** references it leaves out: no manifest for that platform in the bundle (or foreign layers) */
  missing: string[];
}

/** An airgap executable carried next to the OCI layout (airgap pack --include-loader). */
export interface BundleLoader {
  /** the platform it runs on: linux/amd64, linux/arm64 */
  platform: string;
  /** its entry name at the top of the tar: airgap-linux-amd64 */
  name: string;
  size: number;
  digest: Digest;
}

export interface BundleMetadata {
  formatVersion: number;
  tool: { name: string; version: string };
  /** RFC 3339, seconds precision, UTC */
  created: string;
  kubernetes: { version: string; distribution: string } | null;
  /** "all" or the normalized platforms chosen */
  platforms: 'all' | string[];
  images: BundleImage[];
  blobs: { count: number; size: number; sizeWithoutDedup: number };
  /** executables that load this bundle on a node without Node.js (outside the OCI layout) */
  loaders?: BundleLoader[];
  /** absent in bundles from before it was recorded: "upstream" */
  mediaTypes?: BundleMediaTypes;
  /** manifest.json; absent in bundles from before airgap wrote one */
  docker?: BundleDocker;
}
