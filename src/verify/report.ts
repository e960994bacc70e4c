/**
 * What `airgap verify` finds, as data: the text, JSON and JUnit reports are views of this.
 * The JSON report is this object (docs/verify.md documents it); field names are a contract.
 */
import type { BundleDocker, BundleMediaTypes } from '../bundle/metadata.js';
import type { BundleReader } from '../bundle/reader.js';
import { archiveInput } from '../archive/open.js';

export const REPORT_SCHEMA_VERSION = 1;

export type Severity = 'error' | 'warning' | 'info';

/** The checks, in the order they run and are reported. */
export const CHECK_NAMES = ['structure', 'layout', 'metadata', 'integrity', 'graph', 'platforms', 'docker', 'list', 'kubernetes'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const CHECK_TITLES: Record<CheckName, string> = {
  structure: 'tar structure',
  layout: 'OCI layout',
  metadata: 'bundle metadata',
  integrity: 'blob integrity',
  graph: 'image graph',
  platforms: 'platforms',
  docker: 'docker load (manifest.json)',
  list: 'image list',
  kubernetes: 'Kubernetes images',
};

/** pass: no errors or warnings; warn: warnings only; fail: at least one error; skip: not applicable. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Finding {
  check: CheckName;
  severity: Severity;
  /** Stable, kebab-case: digest-mismatch, missing-blob, tag-mismatch, … (docs/verify.md lists them). */
  code: string;
  message: string;
  /** The blob it concerns. */
  digest?: string;
  /** Every image (index.json name) it affects. */
  images?: string[];
  /** For list and Kubernetes coverage: the reference concerned (the needed or listed one). */
  ref?: string;
  /** The tar entry it concerns. */
  entry?: string;
  /** A byte offset in the bundle file. */
  offset?: number;
  platform?: string;
  expected?: string;
  actual?: string;
}

export interface CheckResult {
  name: CheckName;
  title: string;
  status: CheckStatus;
  /** One line for people: what was checked and how it went. */
  summary: string;
  findings: Finding[];
  /** Counters (entries, blobs, bytesHashed, …); names per check in docs/verify.md. */
  stats: Record<string, number>;
  /**
   * What the check looked at one by one (image names, needed or listed references): a JUnit test
   * case each, failing when an error finding names it in `images` or `ref`.
   */
  subjects: string[];
  durationMs: number;
}

/**
 * present: the platform's manifest and all its blobs are in the bundle and sound.
 * absent-by-choice: left out by the platform filter, as the metadata records.
 * absent: not in the bundle, and nothing says whether on purpose (another tool's archive).
 * missing: should be there (the metadata says included, or --platform asks for it) but is not.
 * damaged: there, but a blob is missing, cut short or fails its digest.
 * not-offered: the image does not exist for that platform at all.
 */
export type PlatformStatus = 'present' | 'absent-by-choice' | 'absent' | 'missing' | 'damaged' | 'not-offered';

export interface ImagePlatform {
  platform: string;
  /** The platform's manifest. */
  digest: string;
  status: PlatformStatus;
}

export interface ImageSummary {
  /** The index.json name (io.containerd.image.name, else ref.name), or "<unnamed #N>". */
  ref: string;
  digest: string;
  mediaType: string;
  role?: string;
  /** Bytes of every distinct blob the image uses that the bundle holds. */
  size: number;
  blobs: number;
  platforms: ImagePlatform[];
  /** --oci-media-types: the upstream digest its top manifest was rewritten from. */
  convertedFrom?: string;
  /** No error finding of the content checks (structure to docker) names this image. */
  ok: boolean;
}

export interface PlatformMatrix {
  platforms: string[];
  rows: { ref: string; cells: Record<string, PlatformStatus> }[];
}

export interface NeededImage {
  ref: string;
  role: string;
  status: 'present' | 'missing' | 'mismatch';
  /** What was there instead, for a mismatch (same repository, other tag). */
  found?: string[];
}

/** What a bundle says about itself (header-level facts shared by verify and inspect reports). */
export interface BundleFacts {
  path: string;
  size: number;
  /** airgap: has our metadata; oci-layout: another tool's OCI layout archive; docker-archive: docker save, podman save, k3s/RKE2 image tarballs. */
  kind: 'airgap' | 'oci-layout' | 'docker-archive';
  /** How it was read: compressed (gzip, zstd) and/or from a stream (stdin); size is then the uncompressed tar's. */
  compression?: 'gzip' | 'zstd';
  streamed?: boolean;
  /** What a reader should know about this archive (a docker-archive's made manifests, untagged images). */
  notes?: string[];
  formatVersion?: number;
  created?: string;
  createdBy?: { name: string; version: string };
  kubernetes?: { version: string; distribution: string } | null;
  /** The platform filter it was packed with ("all" or a list); absent for other tools' archives. */
  platforms?: 'all' | string[];
  /** "oci-converted": packed with --oci-media-types (manifests rewritten, new digests); absent for other tools' archives. */
  mediaTypes?: BundleMediaTypes;
  /** What its manifest.json gives `docker load`; absent when the metadata records none (older bundles, other tools). */
  docker?: BundleDocker;
}

/** The facts of an open bundle, from its tar index and metadata; no blob is read. */
export function bundleFacts(path: string, reader: BundleReader): BundleFacts {
  const md = reader.metadata;
  const input = archiveInput(reader);
  return {
    path,
    size: reader.tar.fileSize,
    kind: md ? 'airgap' : reader.docker ? 'docker-archive' : 'oci-layout',
    ...(input.compression !== 'none' ? { compression: input.compression } : {}),
    ...(input.streamed ? { streamed: true } : {}),
    ...(reader.docker ? { notes: reader.docker.notes } : {}),
    ...(md ? { formatVersion: md.formatVersion, created: md.created, createdBy: md.tool, kubernetes: md.kubernetes, platforms: md.platforms, mediaTypes: md.mediaTypes ?? 'upstream' } : {}),
    ...(md?.docker ? { docker: md.docker } : {}),
  };
}

export interface VerifyReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  /** The bundle checked; null when only a list was checked against a Kubernetes version. */
  bundle: BundleFacts | null;
  options: { list?: string; kubernetes?: string; platforms?: string[] };
  ok: boolean;
  summary: { errors: number; warnings: number; checks: Record<CheckStatus, number>; images: number; blobs: number; bytesHashed: number; durationMs: number };
  checks: CheckResult[];
  images: ImageSummary[];
  platformMatrix: PlatformMatrix;
  /**
   * Set when --list was given. With a bundle: is each listed image in it (present, missing, or a
   * mismatch: another tag of the repository). Without: is each line one the Kubernetes version
   * needs (present), a wrong tag of one (mismatch), or another image (extra).
   */
  list?: { path: string; entries: { ref: string; line: number; status: 'present' | 'missing' | 'mismatch' | 'extra' }[] };
  /** Set when a Kubernetes version was checked (from --kubernetes or the bundle's metadata). */
  kubernetes?: {
    requested: string;
    version: string;
    distribution: string;
    exact: boolean;
    /** The distribution variant whose images fit best (k0s: {"cni": "calico"}), when it has variants. */
    variants?: Record<string, string>;
    source: 'flag' | 'metadata';
    needed: NeededImage[];
  };
}

export function statusOf(findings: Finding[]): CheckStatus {
  if (findings.some((f) => f.severity === 'error')) return 'fail';
  if (findings.some((f) => f.severity === 'warning')) return 'warn';
  return 'pass';
}

/** The subjects (JUnit cases) a finding counts against. */
export function subjectsOf(f: Finding): string[] {
  return [...(f.images ?? []), ...(f.ref !== undefined && !(f.images ?? []).includes(f.ref) ? [f.ref] : [])];
}
