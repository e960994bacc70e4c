/**
 * Place the bundle where the distribution imports image archives at every start (k3s/RKE2
 * <data-dir>/agent/images/, k0s /var/lib/k0s/images/): a hard link when the directory is on the
 * same file system (no second copy of gigabytes), else a copy written under a temporary name and
 * renamed once complete, so the distribution never imports half a bundle.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FileError } from '../errors.js';
import type { ImagesDir } from '../node/node.js';

export interface AutoloadResult {
  path: string;
  status: 'placed' | 'present' | 'replaced' | 'would-place' | 'would-replace';
  how?: 'link' | 'copy';
}

async function statOf(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

export async function placeInImagesDir(bundle: string, dir: ImagesDir, dryRun: boolean): Promise<AutoloadResult> {
  const target = join(dir.path, basename(bundle));
  const src = await stat(bundle);
  const existing = await statOf(target);
  if (existing && existing.ino === src.ino && existing.dev === src.dev) return { path: target, status: 'present', how: 'link' };
  // A copy made by an earlier run carries the bundle's size and modification time (as rsync judges files).
  if (existing && existing.size === src.size && Math.abs(existing.mtimeMs - src.mtimeMs) < 1) return { path: target, status: 'present', how: 'copy' };
  if (dryRun) return { path: target, status: existing ? 'would-replace' : 'would-place' };
  const tmp = join(dir.path, `.${basename(bundle)}.airgap-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir.path, { recursive: true, mode: 0o755 });
    let how: 'link' | 'copy' = 'link';
    try {
      await link(bundle, tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      how = 'copy';
      await copyFile(bundle, tmp);
      await utimes(tmp, src.atimeMs / 1000, src.mtimeMs / 1000);
    }
    await rename(tmp, target);
    return { path: target, status: existing ? 'replaced' : 'placed', how };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new FileError('ERR_LOAD_AUTOLOAD_WRITE', `cannot place ${bundle} in ${dir.path}: ${(err as Error).message}`, {
      hint: 'run as root, with room in that file system (a copy needs the bundle\'s size)',
      cause: err,
      details: { bundle, dir: dir.path },
    });
  }
}
