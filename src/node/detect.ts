/**
 * Which kind of node this is. Each distribution leaves files, sockets, binaries and service units
 * of its own; every one found is evidence, and the distribution with the most wins. Only specific
 * paths count (/etc/rancher/k3s/config.yaml, not an empty /etc/rancher), so an empty directory
 * left by another tool — or a test's mount point — proves nothing. Nothing found: kubeadm.
 */
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { onPath } from './containerd/ctr.js';
import { NodeConfigError } from './errors.js';
import { DISTRIBUTIONS, type Distribution, type NodeDetection } from './node.js';

export interface DetectNodeOptions {
  /** --distribution: auto (default) or one of DISTRIBUTIONS. */
  distribution?: string;
  /** The file system root to look under (tests; default /). */
  root?: string;
  /** A containerd socket the user named (--containerd SOCKET): its path is evidence too. */
  socket?: string;
}

type Probe = { kind: 'file' | 'dir' | 'socket' | 'nonempty-dir'; path: string } | { kind: 'binary'; name: string; paths: string[] };

/** The evidence each distribution leaves; the socket of k3s and RKE2 is the same path. */
const PROBES: Record<Distribution, Probe[]> = {
  k3s: [
    { kind: 'file', path: '/etc/rancher/k3s/config.yaml' },
    { kind: 'file', path: '/etc/rancher/k3s/registries.yaml' },
    { kind: 'file', path: '/etc/rancher/k3s/k3s.yaml' },
    { kind: 'dir', path: '/var/lib/rancher/k3s/agent' },
    { kind: 'binary', name: 'k3s', paths: ['/usr/local/bin/k3s', '/usr/bin/k3s'] },
    { kind: 'file', path: '/etc/systemd/system/k3s.service' },
    { kind: 'file', path: '/etc/systemd/system/k3s-agent.service' },
    { kind: 'socket', path: '/run/k3s/containerd/containerd.sock' },
  ],
  rke2: [
    { kind: 'file', path: '/etc/rancher/rke2/config.yaml' },
    { kind: 'file', path: '/etc/rancher/rke2/registries.yaml' },
    { kind: 'file', path: '/etc/rancher/rke2/rke2.yaml' },
    { kind: 'dir', path: '/var/lib/rancher/rke2/agent' },
    { kind: 'binary', name: 'rke2', paths: ['/usr/local/bin/rke2', '/usr/bin/rke2', '/opt/rke2/bin/rke2'] },
    { kind: 'file', path: '/usr/local/lib/systemd/system/rke2-server.service' },
    { kind: 'file', path: '/usr/local/lib/systemd/system/rke2-agent.service' },
    { kind: 'file', path: '/usr/lib/systemd/system/rke2-server.service' },
    { kind: 'file', path: '/usr/lib/systemd/system/rke2-agent.service' },
    { kind: 'socket', path: '/run/k3s/containerd/containerd.sock' },
  ],
  k0s: [
    { kind: 'file', path: '/etc/k0s/k0s.yaml' },
    { kind: 'file', path: '/etc/k0s/containerd.toml' },
    { kind: 'dir', path: '/etc/k0s/containerd.d' },
    { kind: 'file', path: '/var/lib/k0s/bin/containerd' },
    { kind: 'dir', path: '/var/lib/k0s/images' },
    { kind: 'binary', name: 'k0s', paths: ['/usr/local/bin/k0s', '/usr/bin/k0s'] },
    { kind: 'file', path: '/etc/systemd/system/k0sworker.service' },
    { kind: 'file', path: '/etc/systemd/system/k0scontroller.service' },
    { kind: 'socket', path: '/run/k0s/containerd.sock' },
  ],
  kubeadm: [
    { kind: 'file', path: '/etc/kubernetes/kubelet.conf' },
    { kind: 'file', path: '/var/lib/kubelet/kubeadm-flags.env' },
    { kind: 'nonempty-dir', path: '/etc/kubernetes/manifests' },
    { kind: 'binary', name: 'kubeadm', paths: ['/usr/bin/kubeadm', '/usr/local/bin/kubeadm'] },
    { kind: 'socket', path: '/run/containerd/containerd.sock' },
  ],
};

/** The socket that names a distribution when the user points --containerd at it. */
const SOCKET_OWNER: [RegExp, Distribution[]][] = [
  [/\/run\/k3s\/containerd\/containerd\.sock$/, ['k3s', 'rke2']],
  [/\/run\/k0s\/containerd\.sock$/, ['k0s']],
];

async function exists(path: string, kind: 'file' | 'dir' | 'socket' | 'nonempty-dir'): Promise<boolean> {
  try {
    const st = await stat(path);
    if (kind === 'socket') return st.isSocket();
    if (kind === 'dir') return st.isDirectory();
    if (kind === 'nonempty-dir') return st.isDirectory() && (await readdir(path)).length > 0;
    return st.isFile();
  } catch {
    return false;
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export function isDistribution(s: string): s is Distribution {
  return (DISTRIBUTIONS as readonly string[]).includes(s);
}

/** Parse --distribution; throws a usage error naming the choices. */
export function parseDistributionFlag(value: string | undefined): Distribution | 'auto' {
  const v = (value ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || isDistribution(v)) return v;
  throw new NodeConfigError('ERR_NODE_DISTRIBUTION', `unknown distribution ${JSON.stringify(value)}`, {
    hint: `use --distribution auto (detect it), or one of ${DISTRIBUTIONS.join(', ')}`,
    details: { distribution: value, known: [...DISTRIBUTIONS] },
  });
}

/** What each distribution's probes found under `root`. */
export async function gatherEvidence(root = '/'): Promise<Record<Distribution, string[]>> {
  const out = {} as Record<Distribution, string[]>;
  await Promise.all(DISTRIBUTIONS.map(async (d) => {
    const found: string[] = [];
    for (const p of PROBES[d]) {
      if (p.kind === 'binary') {
        const onpath = root === '/' ? await onPath(p.name) : undefined;
        const at = onpath ?? (await firstExisting(p.paths.map((x) => join(root, x))));
        if (at) found.push(`${p.name} binary at ${at}`);
      } else if (await exists(join(root, p.path), p.kind)) {
        found.push(`${p.kind === 'socket' ? 'socket' : p.kind === 'file' ? 'file' : 'directory'} ${join(root, p.path)}`);
      }
    }
    out[d] = found;
  }));
  return out;
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await executable(p)) return p;
  return undefined;
}

/**
 * Decide the distribution: the one given, or the one with the most evidence. A tie between two
 * that are not kubeadm (k3s and RKE2 share a socket) is broken by their own files; a real tie is
 * an error asking for --distribution.
 */
export async function detectNode(opts: DetectNodeOptions = {}): Promise<NodeDetection> {
  const wanted = parseDistributionFlag(opts.distribution);
  const root = opts.root ?? '/';
  const evidence = await gatherEvidence(root);
  if (wanted !== 'auto') {
    return { distribution: wanted, source: 'given', evidence: [`--distribution ${wanted}`, ...evidence[wanted]] };
  }
  const score = (d: Distribution): number => {
    let n = evidence[d].length;
    if (opts.socket !== undefined) for (const [rx, owners] of SOCKET_OWNER) if (rx.test(opts.socket) && owners.includes(d)) n += 1;
    return n;
  };
  // Evidence other than the shared socket, so k3s and RKE2 are told apart by their own files.
  const own = (d: Distribution): number => evidence[d].filter((e) => !e.startsWith('socket ')).length;
  const ranked = [...DISTRIBUTIONS].sort((a, b) => score(b) - score(a) || own(b) - own(a));
  const best = ranked[0]!;
  if (score(best) === 0) {
    return { distribution: 'kubeadm', source: 'default', evidence: ['no k3s, RKE2 or k0s files, sockets or binaries found: a kubeadm node with containerd assumed'] };
  }
  const second = ranked[1]!;
  if (score(second) === score(best) && own(second) === own(best) && best !== 'kubeadm' && second !== 'kubeadm') {
    throw new NodeConfigError('ERR_NODE_DISTRIBUTION', `this node looks like ${best} and ${second} alike (${[...evidence[best], ...evidence[second]].join('; ')})`, {
      hint: `say which it runs: --distribution ${best} or --distribution ${second}`,
      details: { candidates: [best, second], evidence },
    });
  }
  const extra = opts.socket !== undefined && SOCKET_OWNER.some(([rx, owners]) => rx.test(opts.socket!) && owners.includes(best)) ? [`--containerd ${opts.socket}`] : [];
  return { distribution: best, source: 'detected', evidence: [...evidence[best], ...extra] };
}
