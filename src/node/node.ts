/**
 * The node layer: one implementation per kind of node (kubeadm with containerd 1.x/2.x, k3s,
 * RKE2, k0s; CRI-O, Docker and Sealos plug in the same way) behind one small interface. load,
 * doctor and serve ask it where the runtime listens, what to write so kubelet's pulls resolve
 * offline (as file changes, applied atomically by applyNodePlan), and which checks prove it.
 */
import type { AirgapError } from '../errors.js';
import type { CheckResult } from './check.js';
import type { NodeCheckContext } from './check-context.js';
import type { MirrorSpec } from './containerd/hosts-toml.js';
import type { FileChange } from './file-change.js';

export const DISTRIBUTIONS = ['kubeadm', 'k3s', 'rke2', 'k0s'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** The container runtime kubelet talks to: decides where images go and which files configure pulls. */
export const RUNTIMES = ['containerd', 'cri-o', 'docker'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** What told us which node this is; printed at the start of load and doctor, and in --json. */
export interface NodeDetection {
  distribution: Distribution;
  /** given: --distribution; detected: files, sockets or binaries found; default: nothing found, kubeadm assumed */
  source: 'given' | 'detected' | 'default';
  /** Each thing found (or looked for), in words: "/etc/rancher/k3s/config.yaml exists". */
  evidence: string[];
}

/** What load asks of a node: pull every bundle registry through the mirror, the bundle's pause as sandbox. */
export interface NodeConfigRequest {
  /** The bundle's source registries (registry.k8s.io, docker.io, …). */
  registries: string[];
  /** The node registry (or airgap serve) and the path layout load pushed with (a Docker node needs none). */
  mirror?: MirrorSpec;
  /** The bundle's pause image. */
  sandboxImage?: string;
  /** containerd's version when known (detected from the socket otherwise). */
  containerdVersion?: string;
  /** The socket to ask for containerd's version. */
  containerdAddress?: string;
  /** The distribution release the node runs, when known (v1.30.14+k3s1): judges pause and known bugs. */
  release?: string;
}

export interface NodeRestart {
  needed: boolean;
  /** What has to restart to read the changes: "containerd", "k3s", "k0s worker" */
  what: string;
  command: string;
  reasons: string[];
}

export interface NodeConfigPlan {
  distribution: Distribution;
  /** In the order they must be written. */
  changes: FileChange[];
  /** Files already as planned. */
  unchanged: string[];
  /** Problems that make writing unsafe; applyNodePlan refuses a plan that has any. */
  errors: AirgapError[];
  warnings: string[];
  notes: string[];
  restart: NodeRestart;
  /** The sandbox image the runtime uses once restarted (undefined: left to the distribution). */
  sandboxImage?: string;
  /** Where containerd reads hosts.toml files from once the node restarted. */
  hostsDir?: string;
}

/** A directory the distribution imports image archives from at every start. */
export interface ImagesDir {
  path: string;
  /** "k3s imports every archive in … at start and pins it" */
  note: string;
}

export interface NodeKind {
  readonly distribution: Distribution;
  /** The runtime kubelet uses on this kind of node. */
  readonly runtime: Runtime;
  /** For people: "k3s", "RKE2", "k0s", "kubeadm (containerd)", "CRI-O", "Docker Engine (cri-dockerd)". */
  readonly title: string;
  /** What --configure writes on this node, for messages ("/etc/rancher/k3s/registries.yaml"). */
  readonly configures: string;
  /** Where the node's containerd listens (containerd nodes; '' elsewhere). */
  readonly containerdSocket: string;
  /** The ctr that matches the node's containerd when the plain one is not on PATH ("k3s ctr"). */
  readonly ctrFallback?: string[];
  /** The containerd configuration file the running containerd reads (generated or the user's; '' on other runtimes). */
  readonly containerdConfig: string;
  readonly imagesDir?: ImagesDir;
  /** The files to write so every pull of a bundle registry goes to the mirror. Reads; never writes. */
  planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan>;
  /** Where containerd looks for hosts.toml files on this node (before asking the running daemon). */
  hostsDir(): Promise<string>;
  /** The checks only this kind of node needs (its own configuration files); doctor adds containerd's. */
  checks(ctx: NodeCheckContext): Promise<CheckResult[]>;
  /** How to give this node a sandbox image, in its own files (undefined: containerd's config). */
  sandboxFix?(pause: string, bundle: string): string;
  /** How to give a registry a mirror on this node (undefined: a hosts.toml in containerd's hosts directory). */
  mirrorFix?(registry: string, bundle: string): string;
}
