import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { decompressError, decompressor, sniffCompression, type Compression } from './compression.js';
import { ArchiveInputError } from './errors.js';

/**
 * serve reads blobs at random offsets, which a compressed archive cannot give: it is decompressed
 * once into a cache file next to it (reused while the archive's size and time are unchanged),
 * written under a temporary name and renamed when whole. Where nothing can be written there, the
 * user is told the command that does it.
 */

export interface SeekableArchive {
  /** The uncompressed tar to read. */
  path: string;
  compression: Compression;
  /** 'made' this run, 'reused' from an earlier run; absent for an archive that was not compressed. */
  cache?: 'made' | 'reused';
}

export function cachePathFor(path: string, size: number, mtimeMs: number): string {
  return join(dirname(path), `.${basename(path)}.${size}-${Math.floor(mtimeMs)}.airgap-cache.tar`);
}

export async function seekableArchive(path: string, opts: { onProgress?(done: number, total: number): void } = {}): Promise<SeekableArchive> {
  const st = await stat(path);
  const fh = await open(path, 'r');
  const head = Buffer.alloc(8);
  const { bytesRead } = await fh.read(head, 0, 8, 0).finally(() => fh.close());
  const compression = sniffCompression(head.subarray(0, bytesRead));
  if (compression === 'none') return { path, compression };

  const cache = cachePathFor(path, st.size, st.mtimeMs);
  if (await stat(cache).then((c) => c.isFile(), () => false)) return { path: cache, compression, cache: 'reused' };
  const dir = dirname(path);
  const plain = path.replace(/\.(gz|tgz|zst|zstd)$/i, '').replace(/\.tgz$/i, '.tar') || `${path}.tar`;
  const tool = compression === 'gzip' ? `gunzip -c ${path} > ${plain}` : `zstd -d ${path} -o ${plain}`;
  if (!(await access(dir, constants.W_OK).then(() => true, () => false))) {
    throw new ArchiveInputError('ERR_ARCHIVE_NEEDS_FILE', `${path} is ${compression}-compressed, and serving needs random access: it would be decompressed once into ${dir}, which is not writable`,
      `decompress it where there is room and serve the .tar: ${tool}; airgap serve ${plain}`, { path, compression, dir });
  }
  const tmp = `${cache}.partial-${process.pid}`;
  let done = 0;
  const count = new Transform({
    transform(chunk: Buffer, _e, cb) {
      done += chunk.length;
      opts.onProgress?.(done, st.size);
      cb(null, chunk);
    },
  });
  try {
    const source = createReadStream(path, { highWaterMark: 1024 * 1024 });
    const d = decompressor(compression);
    await pipeline(source, count, d, createWriteStream(tmp)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOSPC') {
        throw new ArchiveInputError('ERR_ARCHIVE_NEEDS_FILE', `no space left in ${dir} to decompress ${path} for serving`,
          `free space, or decompress it elsewhere and serve the .tar: ${tool}`, { path, compression, dir }, e);
      }
      throw 'syscall' in e ? e : decompressError(e, compression, path);
    });
    await rename(tmp, cache);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { path: cache, compression, cache: 'made' };
}
