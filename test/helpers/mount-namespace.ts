/**
 * Run test code in a private mount namespace where a node's well-known directories (/etc/rancher,
 * /var/lib/rancher, /run/k3s, /etc/k0s, …) are empty tmpfs mounts: a k3s, RKE2 or k0s node's file
 * layout can be simulated at its real paths without touching this machine's.
 *
 *   const r = await inMountNamespace<{ id: string }>({
 *     tmpfs: ['/etc/rancher', '/var/lib/rancher', '/run/k3s'],
 *     module: fileURLToPath(new URL('./scenarios.js', import.meta.url)),  // a compiled .js under dist/
 *     fn: 'pullThroughK3sMirror',
 *     arg: { registryUrl: reg.url },
 *   });
 *
 * The child is `unshare -m --propagation private node mount-namespace-child.js` in its own process
 * group; it mounts the tmpfs dirs, imports `module`, awaits `fn(arg)` and sends back its JSON
 * result (undefined -> null). A throw in the child rejects here with the child's message, code and
 * stack. Anything `fn` starts must be stopped before it returns: the child then refuses to report
 * success while processes of its own are still running (it kills them and rejects). On timeout, or
 * when the child dies, its whole process group is killed; daemons started with the lab's
 * startDaemon also carry pdeathsig.
 *
 * Mount points must exist on the host: missing ones are created first (mkdir -p) and removed again
 * by the last harness user, only if the harness created them and they are still empty. Concurrent
 * callers (test files run in parallel processes) share them through a small registry under
 * $TMPDIR/airgap-mountns (a lock dir plus one file per user), so one caller never removes a mount
 * point another caller's namespace is using.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { assertIsolatedNetwork, which } from '../../scripts/lab/index.js';

export interface InMountNamespaceOptions {
  /** Absolute directories to cover with an empty tmpfs in the child (e.g. /etc/rancher). */
  tmpfs: string[];
  /** Absolute path of a compiled ES module (.js under dist/) exporting `fn`. */
  module: string;
  /** Name of the exported async function to call with `arg`. */
  fn: string;
  /** JSON-serialisable argument. */
  arg?: unknown;
  /** Kill the child's process group after this long (default 150 s). */
  timeoutMs?: number;
}

/** The error a child's throw becomes: the child's message, plus its stack and code. */
export class NamespaceChildError extends Error {
  code?: string;
  childStack?: string;
  constructor(message: string, info: { name?: string; code?: string; stack?: string; stderr?: string }) {
    super(message);
    this.name = info.name && info.name !== 'Error' ? info.name : 'NamespaceChildError';
    if (info.code !== undefined) this.code = info.code;
    this.childStack = info.stack;
    this.stack = `${this.name}: ${message}\n    --- in the mount namespace child ---\n${(info.stack ?? '').split('\n').slice(1).join('\n')}${
      info.stderr ? `\n    --- child stderr (tail) ---\n${info.stderr}` : ''
    }`;
  }
}

const CHILD = fileURLToPath(new URL('./mount-namespace-child.js', import.meta.url));
const STATE = join(tmpdir(), 'airgap-mountns');
const LOCK = join(STATE, '.lock');
/** Directories no test may hide under a tmpfs. */
const FORBIDDEN = new Set(['/', '/etc', '/var', '/var/lib', '/run', '/usr', '/bin', '/sbin', '/lib', '/proc', '/sys', '/dev', '/tmp', '/home', '/root', '/opt']);



/**
 * Throw unless this process can run namespace tests: root, inside an empty network namespace,
 * with unshare and mount installed. Use it in `before` of suites that were not skipped, so that a
 * missing component fails the suite instead of skipping it silently.
 */
export async function assertNamespaceLab(): Promise<void> {
  await assertIsolatedNetwork();
  if (process.getuid?.() !== 0) throw new Error('the node simulations need root (mount namespaces, tmpfs, containerd): run the tests as scripts/test.sh does');
  for (const tool of ['unshare', 'mount', 'containerd', 'ctr']) {
    if (!which(tool)) throw new Error(`'${tool}' is not installed: install the test lab (bash scripts/lab-install.sh)`);
  }
}

function checkPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!isAbsolute(p)) throw new Error(`inMountNamespace: tmpfs path must be absolute: ${p}`);
    const n = normalize(p).replace(/\/+$/, '') || '/';
    if (FORBIDDEN.has(n)) throw new Error(`inMountNamespace: refusing to cover ${n} with a tmpfs`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(STATE, { recursive: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died leaves the lock behind: take it over after 15 s.
      const age = await stat(LOCK).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 15_000) await rmdir(LOCK).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`inMountNamespace: lock ${LOCK} held for more than 30 s`);
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(LOCK).catch(() => undefined);
  }
}

const entryDir = (p: string): string => join(STATE, encodeURIComponent(p));
let userSeq = 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Create missing mount points; register this call as a user of each. Returns the user token. */
async function acquireMountPoints(paths: string[]): Promise<string> {
  const token = `${process.pid}-${++userSeq}`;
  await withLock(async () => {
    for (const p of paths) {
      const entry = entryDir(p);
      await mkdir(join(entry, 'users'), { recursive: true });
      if (!existsSync(p)) {
        // Every directory we create, outermost first, so the last user can remove them innermost first.
        const created: string[] = [];
        for (let d = p; !existsSync(d); d = dirname(d)) created.unshift(d);
        await mkdir(p, { recursive: true });
        const createdFile = join(entry, 'created.json');
        const before: string[] = existsSync(createdFile) ? JSON.parse(await readFile(createdFile, 'utf8')) : [];
        await writeFile(createdFile, JSON.stringify([...new Set([...before, ...created])]));
      }
      await writeFile(join(entry, 'users', token), '');
    }
  });
  return token;
}

/** Unregister; the last live user removes the directories the harness created, when still empty. */
async function releaseMountPoints(paths: string[], token: string): Promise<void> {
  await withLock(async () => {
    for (const p of paths) {
      const entry = entryDir(p);
      await rm(join(entry, 'users', token), { force: true });
      const users = await readdir(join(entry, 'users')).catch(() => [] as string[]);
      const live = users.filter((u) => alive(Number(u.split('-')[0])));
      for (const dead of users.filter((u) => !live.includes(u))) await rm(join(entry, 'users', dead), { force: true });
      if (live.length > 0) continue;
      const createdFile = join(entry, 'created.json');
      if (existsSync(createdFile)) {
        const created: string[] = JSON.parse(await readFile(createdFile, 'utf8'));
        for (const d of [...created].sort((a, b) => b.length - a.length)) {
          await rmdir(d).catch(() => undefined); // not empty (someone else's files), or gone: leave it
        }
      }
      await rm(entry, { recursive: true, force: true });
    }
  });
}

interface ChildReply {
  ok: boolean;
  value?: unknown;
  error?: { name?: string; message: string; code?: string; stack?: string };
}

export async function inMountNamespace<T>(opts: InMountNamespaceOptions): Promise<T> {
  const paths = checkPaths(opts.tmpfs);
  if (!isAbsolute(opts.module)) throw new Error(`inMountNamespace: module must be an absolute path: ${opts.module}`);
  if (!existsSync(opts.module)) throw new Error(`inMountNamespace: module not found: ${opts.module} (is it compiled?)`);
  if (!which('unshare')) throw new Error("inMountNamespace: 'unshare' is not installed");
  const request = JSON.stringify({ tmpfs: paths, module: opts.module, fn: opts.fn, arg: opts.arg ?? null });
  const timeoutMs = opts.timeoutMs ?? 150_000;

  const token = await acquireMountPoints(paths);
  try {
    // setpriv --pdeathsig: if this test process dies, the kernel kills the child (unshare execs
    // node, so the flag stays on the child itself). detached: its own process group, killed whole.
    const base = ['unshare', '-m', '--propagation', 'private', process.execPath, CHILD];
    const [cmd, ...args] = which('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--', ...base] : base;
    const child = spawn(cmd!, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const pgid = child.pid;
    let stdout = '';
    let stderr = '';
    let reply = '';
    child.stdout!.on('data', (b: Buffer) => (stdout = (stdout + b.toString()).slice(-20_000)));
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (reply += b.toString()));
    child.stdin!.end(request);

    const killGroup = (): void => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => clearTimeout(timer));
    // Whatever the child left behind in its group (it should have stopped everything itself).
    killGroup();

    const tail = (s: string): string => s.trimEnd().split('\n').slice(-30).join('\n');
    if (timedOut) {
      throw new NamespaceChildError(`inMountNamespace: ${opts.fn} did not finish within ${timeoutMs} ms; its process group was killed`, {
        stderr: tail(stderr + stdout),
      });
    }
    let parsed: ChildReply | undefined;
    try {
      parsed = reply ? (JSON.parse(reply) as ChildReply) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      throw new NamespaceChildError(`inMountNamespace: the child exited (code ${exit.code}, signal ${exit.signal}) without a result`, {
        stderr: tail(stderr + stdout),
      });
    }
    if (!parsed.ok) {
      const e = parsed.error ?? { message: 'unknown error' };
      throw new NamespaceChildError(e.message, { ...e, stderr: tail(stderr) });
    }
    return parsed.value as T;
  } finally {
    await releaseMountPoints(paths, token);
  }
}
