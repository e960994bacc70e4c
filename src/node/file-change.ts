/**
 * A node's configuration files as changes: each with its text before and after, applied
 * atomically (temp file in the same directory, fsync, rename, fsync of the directory), what it
 * replaces kept as `<file>.airgap-backup-<time>` (a name no `*.toml` or `*.yaml` glob picks up),
 * and a failure part-way puts the files already written back as they were. A dry run writes
 * nothing and returns the diffs. Every kind of node (containerd's files, k3s's registries.yaml,
 * k0s's drop-ins) is written through here.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, constants, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AirgapError } from '../errors.js';
import { unifiedDiff } from './containerd/diff.js';
import { NodeConfigError } from './errors.js';

/** What a file is to the node; decides the order of writing (files imported before importers). */
export type ChangeRole = 'hosts' | 'drop-in' | 'user-config' | 'main-config' | 'registries';

export interface FileChange {
  path: string;
  kind: 'create' | 'update';
  /** Current content (null: the file does not exist). */
  before: string | null;
  after: string;
  /** Why, in a few words ("sandbox image → registry.k8s.io/pause:3.9"). */
  reason: string;
  role: ChangeRole;
}

export interface AppliedChange extends FileChange {
  /** Where the replaced content was kept (updates only; not in a dry run). */
  backup?: string;
  diff: string;
}

export interface ApplyFilesOptions {
  dryRun?: boolean;
  /** Timestamp for backup names (default: now). */
  now?: Date;
  /** The error for a failed write or a file changed since planning (default: ERR_NODE_CONFIG_*). */
  error?(what: 'write' | 'changed', path: string, cause?: unknown): AirgapError;
}

/** The unified diff of one planned change. */
export function renderDiff(change: Pick<FileChange, 'path' | 'before' | 'after'>): string {
  return unifiedDiff({ path: change.path, before: change.before, after: change.after });
}

/** Read a file, or null when it does not exist. */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A planned change for `path` (or undefined when it already holds `after`). */
export async function proposeChange(path: string, after: string, reason: string, role: ChangeRole): Promise<FileChange | undefined> {
  const before = await readOptional(path);
  if (before === after) return undefined;
  return { path, kind: before === null ? 'create' : 'update', before, after, reason, role };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;


/** mkdir -p, with the directories it creates set to 0755 whatever the umask. */
async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let d = dir;
  for (;;) {
    try {
      await stat(d);
      break;
    } catch {
      missing.push(d);
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  for (const m of missing.reverse()) {
    try {
      await mkdir(m, { mode: DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await chmod(m, DIR_MODE);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write `data` to `path` atomically with the given mode and owner. */
async function writeAtomic(path: string, data: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  const tmp = join(dir, `.${basename(path)}.airgap-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data, 'utf8');
      await fh.chmod(mode);
      if (owner) await fh.chown(owner.uid, owner.gid);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** Copy the current file to a fresh backup name next to it; returns that name. */
async function backup(path: string, when: Date): Promise<string> {
  const base = `${path}.airgap-backup-${stamp(when)}`;
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : `${base}.${n}`;
    try {
      await copyFile(path, name, constants.COPYFILE_EXCL);
      const st = await stat(path);
      await chmod(name, st.mode & 0o7777);
      await chown(name, st.uid, st.gid).catch(() => undefined);
      return name;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * The error maker for applyFileChanges: a failed write or a file changed since planning, with the
 * codes and the command to run again that the caller's domain uses.
 */
export function fileChangeErrors(
  make: (code: string, message: string, opts: { kind: 'io'; hint: string; cause?: unknown; details: Record<string, unknown> }) => AirgapError,
  codes: { write: string; changed: string },
  rerun: string,
): (what: 'write' | 'changed', path: string, cause?: unknown) => AirgapError {
  return (what, path, cause) =>
    what === 'changed'
      ? make(codes.changed, `${path} changed after the plan was made; nothing more was written`, { kind: 'io', hint: `run ${rerun} again to plan against the current files`, details: { file: path } })
      : make(codes.write, `cannot write ${path}: ${(cause as Error).message}`, { kind: 'io', hint: `${writeHint(cause)}; nothing was left half-written`, cause, details: { file: path } });
}

const defaultError = fileChangeErrors((code, message, opts) => new NodeConfigError(code, message, opts), { write: 'ERR_NODE_CONFIG_WRITE', changed: 'ERR_NODE_CONFIG_CHANGED' }, 'the same airgap load');

/** What to do about a failed write, by its cause (root does not help a full disk). */
export function writeHint(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return process.getuid?.() === 0 ? 'the file or its directory is read-only or immutable (lsattr); make it writable' : 'run as root: the node\'s configuration belongs to root';
  if (code === 'ENOSPC') return 'the file system is full; free space there';
  if (code === 'EROFS') return 'the file system is mounted read-only';
  return 'check the path and its directory';
}

/** The file a change really writes: a symlink's target, so the link itself survives. */
async function target(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/**
 * Apply (or, with dryRun, only describe) changes in order. Checks that no file changed since it was
 * planned. On a failure, files already written are restored and the error is thrown.
 */
export async function applyFileChanges(changes: readonly FileChange[], opts: ApplyFilesOptions = {}): Promise<AppliedChange[]> {
  if (opts.dryRun) return changes.map((c) => ({ ...c, diff: renderDiff(c) }));
  const when = opts.now ?? new Date();
  const fail = opts.error ?? defaultError;
  const done: AppliedChange[] = [];
  try {
    for (const change of changes) {
      let current: string | null;
      try {
        current = await readOptional(change.path);
      } catch (err) {
        throw fail('write', change.path, err);
      }
      if (current !== change.before) throw fail('changed', change.path);
      const applied: AppliedChange = { ...change, diff: renderDiff(change) };
      try {
        if (current === null) {
          await writeAtomic(change.path, change.after, FILE_MODE);
        } else {
          const real = await target(change.path);
          const st = await stat(real);
          applied.backup = await backup(real, when);
          // A user's file keeps its mode and owner.
          await writeAtomic(real, change.after, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
        }
      } catch (err) {
        throw fail('write', change.path, err);
      }
      done.push(applied);
    }
  } catch (err) {
    await rollback(done);
    throw err;
  }
  return done;
}

async function rollback(done: AppliedChange[]): Promise<void> {
  for (const c of [...done].reverse()) {
    try {
      if (c.before === null) await unlink(c.path);
      else {
        const real = await target(c.path);
        const st = await stat(real);
        await writeAtomic(real, c.before, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
      }
    } catch {
      // Best effort: the backup file still holds the old content.
    }
  }
}
