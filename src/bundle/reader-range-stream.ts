import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { cutChunk, retireSlab, SLAB_BYTES, takeSlab } from '../content/slab-pool.js';

/** Large positional reads: few syscalls per blob, and the page cache streams at memory speed. */
export const RANGE_CHUNK = 1024 * 1024;

/**
 * A byte range of an open file as a stream, read with positional reads so many ranges can be read
 * at once through one handle. Ends early (short) if the file ends before the range does.
 */
export function rangeStream(fh: FileHandle, start: number, length: number, opts: { signal?: AbortSignal; chunk?: number } = {}): Readable {
  const chunk = opts.chunk ?? RANGE_CHUNK;
  let pos = start;
  const end = start + Math.max(0, length);
  return new Readable({
    highWaterMark: chunk,
    signal: opts.signal,
    read() {
      const want = Math.min(chunk, end - pos);
      if (want <= 0) {
        this.push(null);
        return;
      }
      // A reusable slab when the read fills one: a consumer done with the chunk (an upload, once
      // the socket took it) gives it back instead of fresh memory being faulted in for every MiB.
      const slab = want === SLAB_BYTES ? takeSlab() : undefined;
      const buf = slab ? slab.buf : Buffer.allocUnsafe(want);
      fh.read(buf, 0, want, pos).then(
        ({ bytesRead }) => {
          if (bytesRead === 0) {
            this.push(null);
            return;
          }
          pos += bytesRead;
          if (slab) {
            const piece = cutChunk(slab, 0, bytesRead);
            retireSlab(slab);
            this.push(piece);
          } else this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
        },
        (e: unknown) => {
          if (slab) retireSlab(slab);
          this.destroy(e as Error);
        },
      );
    },
  });
}
