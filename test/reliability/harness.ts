import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CLI } from '../helpers/cli.js';

/**
 * What the reliability suites and the soak script share: running the built CLI as a user would
 * (optionally killed with SIGKILL at a moment), hashing bundles, and an independent audit of a
 * registry over plain HTTP (not our client): every manifest it serves, with every blob it names.
 */

export { CLI };
export const EPOCH = '1700000000';

export interface CliRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** SIGKILL the process this long after it started. */
  killAfterMs?: number;
  /** SIGKILL when this turns true (polled every 20 ms). */
  killWhen?: () => Promise<boolean>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, NO_COLOR: '1', ...opts.env },
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    if (opts.killAfterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs));
    timers.push(setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000));
    if (opts.killWhen) {
      void (async () => {
        while (!done) {
          if (await opts.killWhen!().catch(() => false)) {
            child.kill('SIGKILL');
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    }
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      done = true;
      for (const t of timers) clearTimeout(t);
      resolve({ exitCode, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryAudit {
  /** repository:tag -> digest */
  tags: Map<string, string>;
  manifests: number;
  blobs: number;
  /** Tags listed whose manifest answers 404 (not served at all). */
  unserved: string[];
  /** Served manifests whose children or blobs are missing: must stay empty. */
  problems: string[];
}

interface Doc {
  manifests?: { digest: string; mediaType?: string }[];
  config?: { digest: string };
  layers?: { digest: string }[];
}

/**
 * Walk a registry as a client would: the catalog, every tag, every manifest it serves (and the
 * children of indexes), and HEAD every blob they name. A problem is any served manifest that points
 * at something the registry does not have.
 */
export async function auditRegistry(base: string): Promise<RegistryAudit> {
  const audit: RegistryAudit = { tags: new Map(), manifests: 0, blobs: 0, unserved: [], problems: [] };
  const cat = (await (await fetch(`${base}/v2/_catalog?n=1000`)).json()) as { repositories?: string[] };
  const blobOk = new Map<string, boolean>();
  for (const repo of cat.repositories ?? []) {
    const tl = await fetch(`${base}/v2/${repo}/tags/list`);
    const tags = tl.status === 200 ? (((await tl.json()) as { tags?: string[] | null }).tags ?? []) : [];
    const seen = new Set<string>();
    const visit = async (ref: string, label: string): Promise<string | undefined> => {
      const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT } });
      if (res.status !== 200) {
        // A tag listed but not (yet) served is not served half-made: distribution lists a tag's
        // directory while it is still writing the link of a push that was cut off.
        if (res.status === 404 && !label.includes(' > ')) audit.unserved.push(`${label}: ${res.status}`);
        else audit.problems.push(`${label}: manifest ${ref} answers ${res.status}`);
        return undefined;
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (ref.startsWith('sha256:') && ref !== digest) audit.problems.push(`${label}: manifest ${ref} has bytes of ${digest}`);
      if (seen.has(digest)) return digest;
      seen.add(digest);
      audit.manifests++;
      const doc = JSON.parse(bytes.toString('utf8')) as Doc;
      for (const m of doc.manifests ?? []) await visit(m.digest, `${label} > ${m.digest.slice(0, 19)}`);
      for (const b of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
        const key = `${repo}@${b.digest}`;
        let ok = blobOk.get(key);
        if (ok === undefined) {
          const h = await fetch(`${base}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
          ok = h.status === 200;
          blobOk.set(key, ok);
          audit.blobs++;
        }
        if (!ok) audit.problems.push(`${label}: blob ${b.digest} is missing`);
      }
      return digest;
    };
    for (const t of tags) {
      const d = await visit(t, `${repo}:${t}`);
      if (d) audit.tags.set(`${repo}:${t}`, d);
    }
  }
  return audit;
}
