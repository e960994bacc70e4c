/**
 * What pack reports while it works. The CLI renders these (a progress line on a terminal, a line
 * per image otherwise, or NDJSON with --json); library callers get them through onEvent.
 */

export interface PackStartEvent {
  event: 'start';
  kubernetes: { version: string; distribution: string; requested: string; exact: boolean } | null;
  /** "all" or "linux/amd64,linux/arm64" */
  platforms: string;
  /** true when --platform was not given and linux/amd64 was chosen */
  defaultPlatform: boolean;
  images: number;
  /** the output path, or "-" for stdout */
  output: string;
}

export interface PackNoticeEvent {
  event: 'notice';
  /** stable: LIST_ADDED, LIST_EXTRA, LOCK_WRITTEN, LOCK_UPDATED, LOCK_MOVED, LOCK_UNUSED, VERSION_INEXACT, FOREIGN_LAYERS, DOCKER_MISSING, OCI_CONVERTED, OCI_CONVERTED_PINNED, PARTIAL_DISCARDED, RESUMING */
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface PackResolvingEvent {
  event: 'resolving';
  ref: string;
}

export interface PackResolvedEvent {
  event: 'resolved';
  ref: string;
  role: string;
  digest: string;
  mediaType: string;
  /** platforms packed ("linux/amd64"), or ["unknown"] for a manifest without a platform */
  platforms: string[];
  source?: string;
  /** layers of the included platforms (before dedup across images) */
  layers: number;
  /** bytes of the included platforms' blobs (before dedup across images) */
  bytes: number;
  /** the lock pinned this digest */
  pinned: boolean;
}

export interface PackPlanEvent {
  event: 'plan';
  images: number;
  /** unique blobs in the bundle (manifests, configs, layers) */
  blobs: number;
  layers: number;
  /** bytes of unique blobs */
  bytes: number;
  /** bytes the images would take without sharing blobs */
  bytesWithoutDedup: number;
  /** bytes of layers still to fetch */
  toFetch: number;
  /** bytes of layers kept from an interrupted earlier run */
  resumedBytes: number;
  resumedBlobs: number;
  bundleSize: number;
  dryRun: boolean;
}

export interface PackBlobStartEvent {
  event: 'blob-start';
  digest: string;
  size: number;
  /** > 0 when continuing a half-fetched blob */
  offset: number;
  /** the images that use this blob */
  images: string[];
}

export interface PackBlobProgressEvent {
  event: 'blob-progress';
  digest: string;
  /** bytes received since the last event */
  bytes: number;
}

export interface PackBlobRetryEvent {
  event: 'blob-retry';
  digest: string;
  attempt: number;
  offset: number;
  error: string;
}

export interface PackBlobDoneEvent {
  event: 'blob-done';
  digest: string;
  size: number;
  /** bytes fetched for it in this run */
  fetched: number;
  /** bytes it already had from an earlier run */
  resumedFrom: number;
}

export interface PackImageDoneEvent {
  event: 'image-done';
  ref: string;
  digest: string;
  platforms: string[];
  /** bytes of the image's blobs */
  bytes: number;
  blobs: number;
}

export interface PackSummary {
  images: number;
  platforms: string;
  blobs: number;
  /** bytes of unique blobs in the bundle */
  bytes: number;
  /** bytes the images would take stored separately, minus `bytes` */
  savedByDedup: number;
  /** bytes fetched in this run */
  fetched: number;
  /** bytes kept from an interrupted earlier run */
  resumedBytes: number;
  bundleSize: number;
  /** the bundle path, or "-" */
  output: string;
  seconds: number;
  dryRun: boolean;
}

export interface PackSummaryEvent extends PackSummary {
  event: 'summary';
}

export type PackEvent =
  | PackStartEvent
  | PackNoticeEvent
  | PackResolvingEvent
  | PackResolvedEvent
  | PackPlanEvent
  | PackBlobStartEvent
  | PackBlobProgressEvent
  | PackBlobRetryEvent
  | PackBlobDoneEvent
  | PackImageDoneEvent
  | PackSummaryEvent;
