/**
 * Which containerd we configure: its version decides the config version (2 for 1.x, 3 for 2.x),
 * where the CRI keys live, and how `imports` merge (1.x replaces a plugin's whole table, 2.x
 * merges key by key).
 */
import { existsSync } from 'node:fs';
import { ContainerdConfigError } from './errors.js';

export type ConfigVersion = 2 | 3;

export interface ContainerdVersion {
  /** As printed, e.g. "1.6.20~ds1", "v2.1.4", "v1.7.23-k3s2". */
  raw: string;
  major: number;
  minor: number;
  patch: number;
  /** Where it came from: "containerd --version", "ctr version", "given". */
  source: string;
}

const VERSION_TOKEN = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-~+.][0-9A-Za-z.~+-]*)?$/;

/** Parse one version string ("1.6.20~ds1", "v2.0.0-rc.1", "1.7.23-k3s2"). */
export function parseVersionString(s: string, source = 'given'): ContainerdVersion | undefined {
  const m = VERSION_TOKEN.exec(s.trim());
  if (!m) return undefined;
  return { raw: s.trim(), major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), source };
}

/**
 * Parse `containerd --version` output:
 *   containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3
 *   containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da
 *   containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376
 *   containerd github.com/k3s-io/containerd v1.7.23-k3s2
 * The first field that looks like a version wins (the module path's "/v2" does not).
 */
export function parseContainerdVersionOutput(text: string): ContainerdVersion | undefined {
  for (const field of text.trim().split(/\s+/)) {
    const v = parseVersionString(field, 'containerd --version');
    if (v) return v;
  }
  return undefined;
}

/** Parse `ctr version`: the Server section's Version is the running daemon's. */
export function parseCtrVersionOutput(text: string): ContainerdVersion | undefined {
  const server = text.split(/^Server:\s*$/m)[1];
  if (server === undefined) return undefined;
  const m = /^\s*Version:\s*(\S+)/m.exec(server);
  return m ? parseVersionString(m[1]!, 'ctr version') : undefined;
}

/** containerd 1.x reads config version 2; 2.x writes and prefers version 3 (and migrates 2). */
export function configVersionFor(v: ContainerdVersion): ConfigVersion {
  return v.major >= 2 ? 3 : 2;
}

/**
 * containerd 2.0 merges imported files key by key; 1.x replaces a plugin's whole table with the
 * last file's (containerd PR #9982).
 */
export function mergesPluginTablesDeeply(v: ContainerdVersion): boolean {
  return v.major >= 2;
}

/** Binaries to ask when `containerd` is not on PATH: embedded copies in k3s, RKE2 and k0s. */
const EMBEDDED = [
  '/var/lib/rancher/k3s/data/current/bin/containerd',
  '/var/lib/rancher/rke2/bin/containerd',
  '/var/lib/k0s/bin/containerd',
];

export interface DetectOptions {
  /** A containerd socket: asks the running daemon (`ctr --address … version`) first. */
  address?: string;
  /** The containerd binary to run with --version (default: containerd on PATH, then embedded ones). */
  binary?: string;
  timeoutMs?: number;
}

/** Detect the containerd version; throws ERR_CONTAINERD_VERSION_UNKNOWN with what was tried. */
export async function detectContainerdVersion(opts: DetectOptions = {}): Promise<ContainerdVersion> {
  const timeout = opts.timeoutMs ?? 10_000;
  const tried: string[] = [];
  // Loaded here, not at startup: execa costs ~180 ms, and most loads never detect a version.
  const { execa } = await import('execa');
  if (opts.address !== undefined) {
    const cmd = `ctr --address ${opts.address} version`;
    tried.push(cmd);
    const r = await execa('ctr', ['--address', opts.address, 'version'], { reject: false, timeout });
    const v = r.exitCode === 0 ? parseCtrVersionOutput(String(r.stdout)) : undefined;
    if (v) return v;
  }
  const binaries = opts.binary !== undefined ? [opts.binary] : ['containerd', ...EMBEDDED.filter((b) => existsSync(b))];
  for (const bin of binaries) {
    tried.push(`${bin} --version`);
    const r = await execa(bin, ['--version'], { reject: false, timeout });
    const v = r.exitCode === 0 ? parseContainerdVersionOutput(String(r.stdout)) : undefined;
    if (v) return { ...v, source: `${bin} --version` };
  }
  throw new ContainerdConfigError('ERR_CONTAINERD_VERSION_UNKNOWN', `could not detect the containerd version (tried: ${tried.join('; ')})`, {
    kind: 'runtime',
    hint: 'pass the version explicitly (--containerd-version 1.7.27), or point --containerd-address at the running containerd socket',
    details: { tried },
  });
}
