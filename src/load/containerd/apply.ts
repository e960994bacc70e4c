/**
 * Applies a ConfigPlan: every file is written atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory), what it replaces is kept as `<file>.airgap-backup-<time>`
 * (a name no `*.toml` import glob picks up), and a failure part-way puts the files already written
 * back as they were. A dry run writes nothing and returns the diffs.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, constants, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { unifiedDiff } from './diff.js';
import { ContainerdConfigError } from './errors.js';
import type { ConfigPlan, FileChange } from './plan.js';

export interface ApplyOptions {
  dryRun?: boolean;
  /** Timestamp for backup names (default: now). */
  now?: Date;
}

export interface AppliedChange extends FileChange {
  /** Where the replaced content was kept (updates only; not in a dry run). */
  backup?: string;
  diff: string;
}

export interface ApplyResult {
  dryRun: boolean;
  changes: AppliedChange[];
  /** Files that were already as planned. */
  unchanged: string[];
  nothingChanged: boolean;
  restartNeeded: boolean;
  restartCommand: string;
  restartReasons: string[];
}

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** The unified diff of one planned change. */
export function renderDiff(change: Pick<FileChange, 'path' | 'before' | 'after'>): string {
  return unifiedDiff({ path: change.path, before: change.before, after: change.after });
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function readCurrent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

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

function writeError(path: string, err: unknown): ContainerdConfigError {
  return new ContainerdConfigError('ERR_CONTAINERD_CONFIG_WRITE', `cannot write ${path}: ${(err as Error).message}`, {
    kind: 'io',
    hint: 'run as root (containerd reads its configuration from root-owned files); nothing was left half-written',
    cause: err,
    details: { file: path },
  });
}

/**
 * Apply (or, with dryRun, only describe) a plan. Refuses a plan with errors. Checks that no file
 * changed since it was planned. On a failure, files already written are restored.
 */
export async function applyConfigPlan(plan: ConfigPlan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const dryRun = opts.dryRun ?? false;
  if (plan.errors.length > 0) throw plan.errors[0]!;
  const when = opts.now ?? new Date();
  const result: ApplyResult = {
    dryRun,
    changes: [],
    unchanged: plan.unchanged,
    nothingChanged: plan.changes.length === 0,
    restartNeeded: plan.restartNeeded,
    restartCommand: plan.restartCommand,
    restartReasons: plan.restartReasons,
  };
  if (dryRun) {
    result.changes = plan.changes.map((c) => ({ ...c, diff: renderDiff(c) }));
    return result;
  }

  const done: AppliedChange[] = [];
  try {
    for (const change of plan.changes) {
      let current: string | null;
      try {
        current = await readCurrent(change.path);
      } catch (err) {
        throw writeError(change.path, err);
      }
      if (current !== change.before) {
        throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_CHANGED', `${change.path} changed after the plan was made; nothing more was written`, {
          kind: 'io',
          hint: 'run airgap load --configure-containerd again to plan against the current files',
          details: { file: change.path },
        });
      }
      const applied: AppliedChange = { ...change, diff: renderDiff(change) };
      try {
        if (current === null) {
          await writeAtomic(change.path, change.after, FILE_MODE);
        } else {
          const st = await stat(change.path);
          applied.backup = await backup(change.path, when);
          // A user's file keeps its mode and owner.
          await writeAtomic(change.path, change.after, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
        }
      } catch (err) {
        throw writeError(change.path, err);
      }
      done.push(applied);
    }
  } catch (err) {
    await rollback(done);
    throw err;
  }
  result.changes = done;
  return result;
}

async function rollback(done: AppliedChange[]): Promise<void> {
  for (const c of [...done].reverse()) {
    try {
      if (c.before === null) await unlink(c.path);
      else {
        const st = await stat(c.path);
        await writeAtomic(c.path, c.before, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
      }
    } catch {
      // Best effort: the backup file still holds the old content.
    }
  }
}

/** Lines for the terminal: what changed (or would), backups, and whether to restart containerd. */
export function describeApplyResult(result: ApplyResult): string[] {
  const lines: string[] = [];
  if (result.nothingChanged) {
    lines.push('containerd configuration: nothing changed (already configured)');
    return lines;
  }
  const verb = result.dryRun ? 'would' : '';
  for (const c of result.changes) {
    const action = c.kind === 'create' ? (result.dryRun ? 'would create' : 'created') : result.dryRun ? 'would update' : 'updated';
    lines.push(`${action} ${c.path} (${c.reason})${c.backup ? `; previous version kept as ${c.backup}` : ''}`);
  }
  if (result.restartNeeded) {
    lines.push(
      `containerd ${verb === '' ? 'must' : 'would need to'} be restarted for the sandbox image and config_path to take effect: ${result.restartCommand}`,
    );
  } else {
    lines.push('no containerd restart needed: hosts.toml files are read at every pull');
  }
  return lines;
}
