import { open } from 'node:fs/promises';
import { digestAlgorithm, Digester, type DigestAlgorithm } from '../oci/digest.js';
import { SourceFileChangedError } from './writer-errors.js';
import type { PlannedEntry, PlannedFile } from './writer-plan.js';

/**
 * The bytes of an entry planned from a file (an executable, ~100 MiB), read in bounded chunks and
 * hashed as they go, so no file is ever held whole. The file must still be the one planned: its
 * size and digest went into the metadata already written, so a file changed since fails the write.
 */

/** Bytes read from the file at a time. */
export const FILE_CHUNK = 1024 * 1024;

/**
 * Hand the file's bytes to `sink` in order, then check them against the plan. With `reuse`, one
 * buffer is read into again once `sink` resolves (a positional write is done with it then); without,
 * every chunk is a new buffer (a stream may hold on to what it was given).
 */
export async function copyPlannedFile(
  entry: PlannedEntry & { readonly file: PlannedFile },
  sink: (chunk: Buffer) => Promise<void>,
  opts: { reuse: boolean },
): Promise<void> {
  const { path, digest } = entry.file;
  const digester = new Digester(digestAlgorithm(digest));
  const fh = await open(path, 'r');
  try {
    let shared: Buffer | undefined;
    let pos = 0;
    for (;;) {
      // One byte more than planned is asked for at the end: a file that grew is caught too.
      const want = Math.min(FILE_CHUNK, entry.size - pos + 1);
      const buf = opts.reuse ? (shared ??= Buffer.allocUnsafe(FILE_CHUNK)) : Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      if (pos > entry.size) throw new SourceFileChangedError(path, entry.name, { size: entry.size, digest }, { size: pos });
      const chunk = buf.subarray(0, bytesRead);
      digester.update(chunk);
      await sink(chunk);
    }
  } finally {
    await fh.close().catch(() => {});
  }
  const actual = digester.digest();
  if (digester.size !== entry.size || actual !== digest) {
    throw new SourceFileChangedError(path, entry.name, { size: entry.size, digest }, { size: digester.size, digest: actual });
  }
}

/** Hash `size` bytes read back by `read` in bounded chunks: is the entry in place what was planned? */
export async function digestOfRange(
  read: (buf: Buffer, length: number, position: number) => Promise<number>,
  position: number,
  size: number,
  algorithm: DigestAlgorithm,
): Promise<string> {
  const digester = new Digester(algorithm);
  const buf = Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(size, 1)));
  for (let done = 0; done < size; ) {
    const n = await read(buf, Math.min(buf.byteLength, size - done), position + done);
    if (n === 0) break;
    digester.update(buf.subarray(0, n));
    done += n;
  }
  return digester.digest();
}
