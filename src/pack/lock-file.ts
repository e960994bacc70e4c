import { readFile, rename, writeFile } from 'node:fs/promises';
import { FileError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { LockFileError } from './errors.js';

/**
 * The lock file: tag -> digest pins, so a later pack takes exactly the same content even after
 * upstream moved a tag. JSON, sorted, one pin per reference:
 *   { "lockVersion": 1, "kubernetes": "v1.30.14", "images": { "registry.k8s.io/pause:3.9": "sha256:…" } }
 */

export const LOCK_VERSION = 1;

export interface LockFile {
  lockVersion: number;
  kubernetes?: string;
  images: Record<string, string>;
}

/** The lock at path, or undefined when there is none yet. A malformed lock is refused (never overwritten). */
export async function readLockFile(path: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // Node's EISDIR and friends carry no path: say which file.
    throw new FileError('ERR_LOCK_FILE_UNREADABLE', `cannot read lock file ${path}: ${code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`, {
      hint: 'name a lock file with --lock (it is created when absent)',
      details: { path },
      cause: e,
    });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LockFileError(path, `not valid JSON (${(e as Error).message})`);
  }
  const lock = v as Partial<LockFile>;
  if (typeof v !== 'object' || v === null || lock.lockVersion !== LOCK_VERSION) {
    throw new LockFileError(path, `expected {"lockVersion": ${LOCK_VERSION}, "images": {…}}`);
  }
  if (typeof lock.images !== 'object' || lock.images === null || Array.isArray(lock.images)) {
    throw new LockFileError(path, '"images" is not an object of reference -> digest');
  }
  for (const [ref, digest] of Object.entries(lock.images)) {
    if (!isDigest(digest)) throw new LockFileError(path, `the pin of ${ref} is not a digest: ${JSON.stringify(digest)}`);
  }
  return { lockVersion: LOCK_VERSION, ...(typeof lock.kubernetes === 'string' ? { kubernetes: lock.kubernetes } : {}), images: { ...lock.images } };
}

export function encodeLockFile(lock: LockFile): string {
  const images: Record<string, string> = {};
  for (const k of Object.keys(lock.images).sort()) images[k] = lock.images[k]!;
  return `${JSON.stringify({ lockVersion: LOCK_VERSION, ...(lock.kubernetes ? { kubernetes: lock.kubernetes } : {}), images }, null, 2)}\n`;
}

/** Replace the lock whole (write then rename), so a reader never sees half of it. */
export async function writeLockFile(path: string, lock: LockFile): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, encodeLockFile(lock));
  await rename(tmp, path);
}
