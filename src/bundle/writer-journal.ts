import { open, readFile, rename, unlink } from 'node:fs/promises';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * The small state file next to a partial bundle (OUT.partial.json): which plan the partial file
 * was laid out for and how far each blob got. It is only ever replaced whole (write, fsync,
 * rename), after the partial file's data was synced, so it never claims bytes that are not on disk.
 */

export const JOURNAL_VERSION = 1;

export interface WriterJournal {
  version: number;
  /** BundlePlan.id the partial file was laid out for */
  planId: string;
  size: number;
  /** the bundle's creation time, kept so a resumed bundle is byte-identical to an uninterrupted one */
  created: string;
  mtime: number;
  /** blobs completely written and verified */
  done: string[];
  /** digest -> bytes [0, n) written (a verified-so-far prefix, re-hashed from disk on resume) */
  partial: Record<string, number>;
}

function isJournal(v: unknown): v is WriterJournal {
  if (typeof v !== 'object' || v === null) return false;
  const j = v as Partial<WriterJournal>;
  return (
    j.version === JOURNAL_VERSION &&
    typeof j.planId === 'string' &&
    typeof j.size === 'number' &&
    typeof j.created === 'string' &&
    typeof j.mtime === 'number' &&
    Array.isArray(j.done) &&
    j.done.every((d) => typeof d === 'string') &&
    typeof j.partial === 'object' &&
    j.partial !== null &&
    Object.values(j.partial).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
  );
}

/** The journal at path, or undefined when there is none or it is unreadable (then nothing is resumed). */
export async function readJournal(path: string): Promise<WriterJournal | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isJournal(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function writeJournal(path: string, journal: WriterJournal): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(journal));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The same, synchronously: for the last checkpoint on process exit (Ctrl-C). */
export function writeJournalSync(path: string, journal: WriterJournal): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(journal));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export async function removeJournal(path: string): Promise<void> {
  await unlink(path).catch(() => {});
  await unlink(`${path}.tmp`).catch(() => {});
}
