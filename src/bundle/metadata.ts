import type { Digest } from '../oci/digest.js';

/** The entry names of a bundle (docs/bundle-format.md). */
export const BundleEntry = {
  Metadata: 'airgap-bundle.json',
  OciLayout: 'oci-layout',
  Index: 'index.json',
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
}
