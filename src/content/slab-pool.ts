/**
 * Reusable read buffers for the download path. A producer (the HTTP client) reads into slices of
 * 1 MiB slabs; a consumer that is done with a chunk for good (the bundle writer, once the bytes
 * are in the file) gives it back with releaseChunk(). A retired slab whose every chunk came back
 * is reused instead of allocating fresh memory, which costs page faults and zeroing for every MiB
 * downloaded (~0.1 s of the main thread per 343 MiB). Chunks never given back are simply garbage
 * collected with their slab: giving back is an optimisation, never required.
 *
 * The contract: release a chunk only when nothing will read it again. Counting is per chunk
 * handed out (take()), so a chunk must be released at most once.
 */
export const SLAB_BYTES = 1024 * 1024;
/** Free slabs kept for reuse, at most (the rest are left to the garbage collector). */
const MAX_FREE = 32;

export class Slab {
  /** chunks handed out and not given back */
  out = 0;
  /** no more chunks will be cut from it */
  retired = false;
  constructor(readonly buf: Buffer) {}
}

const owner = new WeakMap<ArrayBufferLike, Slab>();
const free: Slab[] = [];

/** A slab to read into: a recycled one when there is one. */
export function takeSlab(): Slab {
  const s = free.pop();
  if (s) return s;
  const slab = new Slab(Buffer.allocUnsafeSlow(SLAB_BYTES));
  owner.set(slab.buf.buffer, slab);
  return slab;
}

/** Bytes [start, end) of the slab as a chunk handed out (counted until released). */
export function cutChunk(slab: Slab, start: number, end: number): Buffer {
  slab.out++;
  return slab.buf.subarray(start, end);
}

/** The producer is done cutting from this slab. */
export function retireSlab(slab: Slab): void {
  slab.retired = true;
  recycle(slab);
}

/** The consumer will not read this chunk again. Chunks not cut from a slab are ignored. */
export function releaseChunk(chunk: Uint8Array): void {
  const s = owner.get(chunk.buffer);
  if (!s || s.out <= 0) return;
  s.out--;
  recycle(s);
}

function recycle(s: Slab): void {
  if (!s.retired || s.out > 0 || free.length >= MAX_FREE) return;
  s.retired = false;
  free.push(s);
}

/** For tests: free slabs held now. */
export function freeSlabs(): number {
  return free.length;
}
