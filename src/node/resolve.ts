/** From --distribution (or what detection finds) to the implementation for that kind of node. */
import { CrioNode } from './crio/node.js';
import { detectNode } from './detect.js';
import { DockerNode } from './docker/node.js';
import { K0sNode } from './k0s/node.js';
import { K3sNode } from './k3s/node.js';
import { KubeadmNode, type KubeadmNodeOptions } from './kubeadm/node.js';
import type { Distribution, NodeDetection, NodeKind, Runtime } from './node.js';
import type { NodeRelease } from './release.js';

export interface ResolveNodeOptions {
  /** auto (default), kubeadm, k3s, rke2, k0s */
  distribution?: string;
  /** The file system root (tests; default /). */
  root?: string;
  /** A containerd socket the user named: evidence, and the socket to use. */
  socket?: string;
  /** kubeadm nodes: containerd's config, hosts directory and drop-in, as the user gave them. */
  kubeadm?: Omit<KubeadmNodeOptions, 'socket'>;
  /** The release the node runs, when the user or the bundle says (judges pause and known bugs). */
  release?: NodeRelease;
  /**
   * The runtime kubelet uses, when --runtime says or kubelet's files do: 'cri-o' is a CRI-O node
   * whatever the distribution (CRI-O reads its own files, not containerd's).
   */
  runtime?: { kind: Runtime; source: 'given' | 'detected'; evidence: string };
}

export function nodeFor(distribution: Distribution, opts: Omit<ResolveNodeOptions, 'distribution'> = {}): NodeKind {
  const common = { ...(opts.root !== undefined ? { root: opts.root } : {}), ...(opts.socket !== undefined ? { socket: opts.socket } : {}) };
  switch (distribution) {
    case 'k3s':
    case 'rke2':
      return new K3sNode(distribution, { ...common, ...(opts.release ? { release: opts.release } : {}) });
    case 'k0s':
      return new K0sNode(common);
    case 'kubeadm':
      return new KubeadmNode({ ...opts.kubeadm, ...(opts.socket !== undefined ? { socket: opts.socket } : {}) });
  }
}

export async function resolveNode(opts: ResolveNodeOptions = {}): Promise<{ detection: NodeDetection; node: NodeKind }> {
  if (opts.runtime?.kind === 'cri-o') {
    return {
      detection: { distribution: 'kubeadm', source: opts.runtime.source, evidence: [opts.runtime.evidence] },
      node: new CrioNode(opts.root !== undefined ? { root: opts.root } : {}),
    };
  }
  if (opts.runtime?.kind === 'docker') {
    return {
      detection: { distribution: 'kubeadm', source: opts.runtime.source, evidence: [opts.runtime.evidence] },
      node: new DockerNode(opts.root !== undefined ? { root: opts.root } : {}),
    };
  }
  const detection = await detectNode({
    ...(opts.distribution !== undefined ? { distribution: opts.distribution } : {}),
    ...(opts.root !== undefined ? { root: opts.root } : {}),
    ...(opts.socket !== undefined ? { socket: opts.socket } : {}),
  });
  return { detection, node: nodeFor(detection.distribution, opts) };
}
