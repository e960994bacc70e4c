import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ResultPromise } from 'execa';
import { ContainerdError } from '../../load/errors.js';

/**
 * containerd through its own client, `ctr` (or `k3s ctr` / `k0s ctr` on nodes that bundle it):
 * what an operator would type, so every step can be repeated by hand.
 */

/** The label kubelet's image garbage collection respects (CRI reports it as `pinned`). */
export const PINNED_LABEL = 'io.cri-containerd.pinned';

/** The sockets containerd listens on: stock, k3s (and RKE2), k0s. */
export const DEFAULT_SOCKETS = ['/run/containerd/containerd.sock', '/run/k3s/containerd/containerd.sock', '/run/k0s/containerd.sock'];

export interface CtrCommand {
  /** executable and leading arguments: ["ctr"], ["k3s", "ctr"], ["k0s", "ctr"] */
  argv: [string, ...string[]];
  /** how to show it: "ctr", "k3s ctr" */
  label: string;
}

export interface CtrImage {
  name: string;
  mediaType: string;
  digest: string;
  labels: Record<string, string>;
}

/** The executable `name` as PATH would find it, or undefined. */
export async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** The socket to use: the one given, else the first default one that exists. */
export async function findSocket(given?: string): Promise<string> {
  if (given) {
    if (!(await isSocket(given))) {
      throw new ContainerdError('ERR_CONTAINERD_SOCKET', `no containerd socket at ${given}`,
        `is containerd running? (systemctl status containerd); k3s listens on ${DEFAULT_SOCKETS[1]}, k0s on ${DEFAULT_SOCKETS[2]}`, { socket: given });
    }
    return given;
  }
  for (const s of DEFAULT_SOCKETS) if (await isSocket(s)) return s;
  throw new ContainerdError('ERR_CONTAINERD_SOCKET', `no containerd socket found (looked for ${DEFAULT_SOCKETS.join(', ')})`, 'start containerd, or pass its socket: --containerd /path/to/containerd.sock', {
    looked: DEFAULT_SOCKETS,
  });
}

/**
 * The ctr to run: `ctr` when on PATH, else the one k3s or k0s carries (preferred when the socket is
 * theirs, so client and daemon match). `given` overrides (e.g. ["k3s", "ctr"]).
 */
export async function findCtr(socket: string, given?: string[], fallback?: string[]): Promise<CtrCommand> {
  if (given && given.length > 0) return { argv: given as [string, ...string[]], label: given.join(' ') };
  const k3s = socket.includes('/k3s/') ? await onPath('k3s') : undefined;
  if (k3s) return { argv: [k3s, 'ctr'], label: 'k3s ctr' };
  const k0s = socket.includes('/k0s/') ? await onPath('k0s') : undefined;
  if (k0s) return { argv: [k0s, 'ctr'], label: 'k0s ctr' };
  const ctr = await onPath('ctr');
  if (ctr) return { argv: [ctr], label: 'ctr' };
  for (const [bin, label] of [['k3s', 'k3s ctr'], ['k0s', 'k0s ctr']] as const) {
    const p = await onPath(bin);
    if (p) return { argv: [p, 'ctr'], label };
  }
  // The node's own ctr (RKE2 keeps one in its data directory, off PATH).
  if (fallback && fallback.length > 0) {
    const bin = fallback[0]!.startsWith('/') ? await access(fallback[0]!, constants.X_OK).then(() => fallback[0], () => undefined) : await onPath(fallback[0]!);
    if (bin) return { argv: [bin, ...fallback.slice(1)] as [string, ...string[]], label: fallback.join(' ') };
  }
  throw new ContainerdError('ERR_CTR_NOT_FOUND', 'ctr (containerd\'s client) is not on PATH, nor k3s or k0s', 'install containerd\'s ctr (Debian/Ubuntu: apt-get install containerd), or load into a registry only (--registry)', {});
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
}

/** Parse `ctr images ls` (REF TYPE DIGEST SIZE PLATFORMS LABELS; SIZE holds a space). */
export function parseImageList(text: string): CtrImage[] {
  const out: CtrImage[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 4 || t[0] === 'REF' || !/^sha256:[a-f0-9]{64}$/.test(t[2]!)) continue;
    const labels: Record<string, string> = {};
    const last = t[t.length - 1]!;
    if (last !== '-' && last.includes('=')) {
      for (const kv of last.split(',')) {
        const i = kv.indexOf('=');
        if (i > 0) labels[kv.slice(0, i)] = kv.slice(i + 1);
      }
    }
    out.push({ name: t[0]!, mediaType: t[1]!, digest: t[2]!, labels });
  }
  return out;
}

export class Ctr {
  constructor(readonly command: CtrCommand, readonly address: string, readonly namespace = 'k8s.io') {}

  private args(rest: string[]): string[] {
    return [...this.command.argv.slice(1), '--address', this.address, '--namespace', this.namespace, ...rest];
  }

  /** Turn a failed ctr run into words: unreachable socket, permissions, or ctr's own last line. */
  private failure(what: string, stderr: string, cause: unknown): ContainerdError {
    const msg = firstLine(stderr) || (cause as Error)?.message || 'failed';
    const details = { address: this.address, command: this.command.label, stderr: stderr.slice(-2000) };
    if (/connection refused|no such file or directory|connect: |context deadline exceeded|failed to dial/i.test(stderr)) {
      return new ContainerdError('ERR_CONTAINERD_UNREACHABLE', `containerd is not answering on ${this.address}: ${msg}`,
        'start containerd (systemctl start containerd), or pass its socket: --containerd /run/containerd/containerd.sock', details, cause);
    }
    if (/permission denied/i.test(stderr)) {
      return new ContainerdError('ERR_CONTAINERD_PERMISSION', `${what}: permission denied on ${this.address}`, 'run airgap load as root (containerd\'s socket is root-only)', details, cause);
    }
    if ((cause as { code?: string })?.code === 'ENOENT') {
      return new ContainerdError('ERR_CTR_NOT_FOUND', `${this.command.label} could not be run`, 'install containerd\'s ctr, or load into a registry only (--registry)', details, cause);
    }
    return new ContainerdError('ERR_CTR_FAILED', `${this.command.label} ${what} failed: ${msg}`, 'see containerd\'s log (journalctl -u containerd) for the cause', details, cause);
  }

  async run(what: string, rest: string[], timeoutMs = 60_000): Promise<string> {
    // execa costs ~180 ms to load: only loads into containerd pay for it.
    const { execa } = await import('execa');
    try {
      const r = await execa(this.command.argv[0], this.args(rest), { timeout: timeoutMs, stdin: 'ignore', reject: true });
      return r.stdout;
    } catch (e) {
      throw this.failure(what, String((e as { stderr?: unknown }).stderr ?? ''), e);
    }
  }

  /** The daemon's version ("1.6.20~ds1"); also proves the socket answers. */
  async serverVersion(): Promise<string> {
    const out = await this.run('version', ['version'], 15_000);
    const m = /Server:[\s\S]*?Version:\s*(\S+)/.exec(out);
    return m?.[1] ?? 'unknown';
  }

  async images(): Promise<CtrImage[]> {
    return parseImageList(await this.run('images ls', ['images', 'ls']));
  }

  async label(name: string, key: string, value: string): Promise<void> {
    await this.run('images label', ['images', 'label', name, `${key}=${value}`]);
  }

  /**
   * `ctr images import -` fed from `archive`. When the archive fails (a blob that does not match
   * its digest), ctr is killed before it can read an end of input, so it never creates the image
   * from partial content; the archive's error is the one thrown.
   */
  async import(archive: Readable, opts: { platform?: string; allPlatforms?: boolean; unpack?: boolean; signal?: AbortSignal }): Promise<string> {
    const flags = ['images', 'import'];
    if (opts.allPlatforms) flags.push('--all-platforms');
    else if (opts.platform) flags.push('--platform', opts.platform);
    if (opts.unpack === false) flags.push('--no-unpack');
    flags.push('-');
    let archiveError: unknown;
    const { execa } = await import('execa');
    const child: ResultPromise = execa(this.command.argv[0], this.args(flags), {
      stdin: 'pipe',
      reject: true,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    archive.on('error', (e) => {
      archiveError ??= e;
      child.kill('SIGKILL');
    });
    // Ctrl-C ends airgap through process.exit: ctr must not read that as the end of the archive.
    const onExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', onExit);
    child.stdin!.on('error', () => { /* ctr exiting early closes the pipe; its own error says why */ });
    archive.pipe(child.stdin!);
    try {
      const r = await child;
      if (archiveError) throw archiveError;
      return String(r.stdout);
    } catch (e) {
      archive.destroy();
      if (archiveError) throw archiveError;
      throw this.failure('images import', String((e as { stderr?: unknown }).stderr ?? ''), e);
    } finally {
      process.off('exit', onExit);
    }
  }
}
