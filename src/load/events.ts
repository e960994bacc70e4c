/**
 * What `load` tells an observer: the CLI prints them as lines or NDJSON. Every event is a plain
 * object (JSON-ready) with an `event` name; none carries a credential.
 */

/** What happened to one blob or manifest in one repository of the node registry. */
export type RegistryOutcome = 'present' | 'pushed' | 'mounted' | 'would-push' | 'would-mount';

export interface BlobCounts {
  pushed: number;
  mounted: number;
  present: number;
}

export type LoadEvent =
  | {
    event: 'start';
    bundle: string;
    images: number;
    /** unique blobs the images need, and their bytes */
    blobs: number;
    bytes: number;
    targets: string[];
    dryRun: boolean;
  }
  | { event: 'warning'; code: string; message: string; image?: string }
  | {
    event: 'registry-image';
    image: string;
    /** where it is served, e.g. 127.0.0.1:5000/registry.k8s.io/pause:3.9 */
    destination: string;
    status: 'pushed' | 'present' | 'would-push' | 'failed';
    digest: string;
    /** set when the registry refused the index and a reduced one (bundle's platforms only) was pushed */
    servedDigest?: string;
    blobs: BlobCounts;
    /** bytes uploaded for this image (mounted and present blobs count nothing) */
    bytes: number;
    error?: string;
  }
  | { event: 'blob-progress'; digest: string; bytes: number }
  | {
    event: 'containerd-image';
    image: string;
    status: 'imported' | 'present' | 'would-import' | 'failed';
    digest: string;
    /** the platform(s) imported: "linux/amd64" or "all" */
    platform?: string;
    error?: string;
  }
  | { event: 'containerd-pin'; image: string; status: 'pinned' | 'already-pinned' | 'would-pin' }
  /** the Docker Engine load talks to (--docker) */
  | { event: 'docker-engine'; socket: string; version: string; apiVersion: string }
  | {
    event: 'docker-image';
    image: string;
    status: 'loaded' | 'present' | 'would-load' | 'failed';
    /** Docker's image ID: the digest of the config of the platform loaded */
    imageId?: string;
    /** the platform loaded: "linux/amd64" */
    platform?: string;
    error?: string;
  }
  | {
    event: 'config';
    path: string;
    status: 'changed' | 'unchanged' | 'would-change' | 'created' | 'would-create';
    /** why, in a few words ("sandbox image → registry.k8s.io/pause:3.9") */
    reason?: string;
    /** where the replaced content was kept */
    backup?: string;
    /** unified diff of the change (dry runs and changes) */
    diff?: string;
  }
  | { event: 'notice'; message: string }
  | {
    event: 'node';
    distribution: string;
    title: string;
    /** given (--distribution), detected, or default (nothing found: kubeadm) */
    source: string;
    evidence: string[];
    containerdSocket: string;
  }
  | { event: 'autoload'; path: string; status: 'placed' | 'present' | 'replaced' | 'would-place' | 'would-replace'; how?: 'link' | 'copy'; note: string }
  | { event: 'summary'; summary: LoadSummary };

export interface LoadSummary {
  dryRun: boolean;
  /** false: the node was already as the bundle wants it */
  changed: boolean;
  seconds: number;
  registry?: {
    url: string;
    images: number;
    pushed: number;
    present: number;
    failed: number;
    blobs: BlobCounts;
    bytes: number;
  };
  containerd?: {
    address: string;
    images: number;
    imported: number;
    present: number;
    failed: number;
    pinned: string[];
  };
  docker?: {
    socket: string;
    /** Docker Engine's version */
    version: string;
    images: number;
    loaded: number;
    present: number;
    failed: number;
  };
  /** the kind of node (when a node step ran) */
  distribution?: string;
  /** the runtime configured when it is not containerd (cri-o) */
  runtime?: string;
  config?: { changed: string[]; unchanged: string[]; sandboxImage?: string; restartNeeded: boolean; restartWhat?: string; restartCommand?: string };
  autoload?: { path: string; status: string };
}
