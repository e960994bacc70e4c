/**
 * The child side of inMountNamespace (mount-namespace.ts): started as
 * `unshare -m --propagation private node mount-namespace-child.js`, it reads
 * { tmpfs, module, fn, arg } from stdin, mounts an empty tmpfs on each directory (shallowest
 * first, creating a nested mount point inside an outer tmpfs when needed), imports the module,
 * awaits fn(arg), and writes { ok, value | error } as JSON to fd 3. Before reporting success it
 * checks that fn left no process of its own running; if it did, those are killed and the call
 * fails. Not a test: nothing here runs unless spawned that way.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Request {
  tmpfs: string[];
  module: string;
  fn: string;
  arg: unknown;
}

function reply(obj: unknown): void {
  const text = JSON.stringify(obj);
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) off += writeSync(3, buf, off);
}

/** Our descendants, from /proc (pid -> ppid). */
function descendants(root: number): { pid: number; comm: string }[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      comm.set(Number(name), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // exited meanwhile
    }
  }
  const out: { pid: number; comm: string }[] = [];
  const walk = (p: number): void => {
    for (const [pid, pp] of parent) {
      if (pp === p) {
        out.push({ pid, comm: comm.get(pid) ?? '?' });
        walk(pid);
      }
    }
  };
  walk(root);
  return out;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString()) as Request;

  const dirs = [...req.tmpfs].sort((a, b) => a.split('/').length - b.split('/').length);
  for (const d of dirs) {
    mkdirSync(d, { recursive: true }); // exists on the host; nested ones are made inside an outer tmpfs
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', d], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  const mod = (await import(pathToFileURL(req.module).href)) as Record<string, unknown>;
  const fn = mod[req.fn];
  if (typeof fn !== 'function') throw new Error(`${req.module} exports no function ${req.fn}`);
  const value = await (fn as (arg: unknown) => unknown)(req.arg);

  // Give exiting children (a daemon just stopped) a moment to be reaped, then insist.
  let left = descendants(process.pid);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = descendants(process.pid);
  }
  if (left.length > 0) {
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    throw Object.assign(new Error(`${req.fn} returned but left processes running (killed now): ${left.map((p) => `${p.pid} ${p.comm}`).join(', ')}`), {
      code: 'ERR_NS_LEFT_RUNNING',
    });
  }
  reply({ ok: true, value: value === undefined ? null : value });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      reply({ ok: false, error: { name: e.name, message: e.message, code: (e as NodeJS.ErrnoException).code, stack: e.stack } });
    } finally {
      process.exit(1);
    }
  },
);
