/**
 * What a node's checks look at: the runtime kubelet uses, what the running containerd said, the
 * containerd configuration on disk, the bundle the node should be served from. doctor gathers it
 * once; every kind of node reads it.
 */
import type { BundleFacts } from '../bundle/facts.js';
import type { ConfigFacts } from './containerd/config-facts.js';
import type { CtrImage } from './containerd/ctr.js';
import type { ContainerdVersion } from './containerd/version.js';
import type { NodeDetection, NodeKind } from './node.js';
import type { RuntimeFacts } from './runtime.js';

export interface CheckOptions {
  /** Where hosts.toml files are, when the user said so. */
  hostsDir?: string;
  namespace?: string;
  /** Per network/daemon request (default 5000 ms). */
  timeoutMs?: number;
}

/** What the running containerd told us. */
export interface ContainerdFacts {
  address: string;
  reachable: boolean;
  error?: string;
  version?: ContainerdVersion;
  /** Settings the running CRI plugin uses (undefined: CRI did not answer). */
  running?: { sandboxImage?: string; configPath?: string };
  criError?: string;
  images?: CtrImage[];
  imagesError?: string;
}

export interface NodeCheckContext {
  opts: CheckOptions;
  runtime: RuntimeFacts;
  node?: NodeDetection;
  /** The node's implementation: its own fixes for what containerd's checks find. */
  nodeKind?: NodeKind;
  bundle?: BundleFacts;
  containerd?: ContainerdFacts;
  config?: ConfigFacts;
  /** Where containerd reads hosts.toml files from. */
  hostsDir: string;
  /** The Kubernetes version to judge the pause image by, and where it came from. */
  kubernetes?: { version: string; distribution: string; source: string };
}
