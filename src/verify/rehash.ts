import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from '../oci/digest.js';

/**
 * Re-hash byte ranges of one file (the blobs of a bundle) as fast as the machine allows: worker
 * threads, one per core, each doing large positional reads and hashing them; the largest ranges
 * go first so the threads finish together. Small jobs are hashed inline: starting threads would
 * cost more than it saves.
 */

export interface HashJob {
  id: number;
  algorithm: DigestAlgorithm;
  offset: number;
  length: number;
}

export interface HashResult {
  id: number;
  digest?: string;
  /** Bytes actually read: fewer than `length` when the file ends first. */
  bytes?: number;
  error?: string;
}

export interface RangeToHash {
  algorithm: DigestAlgorithm;
  offset: number;
  length: number;
}

export interface HashOptions {
  /** Worker threads; default: every core (at most 8). 1 hashes inline. */
  threads?: number;
  /** Bytes per read. */
  chunk?: number;
  /** Below this many bytes in all, hash inline. */
  inlineBelow?: number;
  /** Called as each range completes, with its byte count. */
  onProgress?: (bytes: number) => void;
}

export const HASH_CHUNK = 4 * 1024 * 1024;
const INLINE_BELOW = 32 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;

export function defaultHashThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

export interface RangeHash {
  digest: string;
  bytes: number;
}

/** Hash each range; results in input order. */
export async function hashRanges(path: string, ranges: RangeToHash[], opts: HashOptions = {}): Promise<RangeHash[]> {
  const chunk = opts.chunk ?? HASH_CHUNK;
  const total = ranges.reduce((s, r) => s + r.length, 0);
  const threads = Math.min(opts.threads ?? defaultHashThreads(), ranges.length);
  if (threads <= 1 || total < (opts.inlineBelow ?? INLINE_BELOW)) return hashInline(path, ranges, chunk, opts.onProgress);
  return hashInWorkers(path, ranges, threads, chunk, opts.onProgress);
}

async function hashInline(path: string, ranges: RangeToHash[], chunk: number, onProgress?: (bytes: number) => void): Promise<RangeHash[]> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(chunk, ranges.reduce((m, r) => Math.max(m, r.length), 1)));
    const out: RangeHash[] = [];
    for (const r of ranges) {
      const h = createHash(r.algorithm);
      let pos = r.offset;
      const end = r.offset + r.length;
      while (pos < end) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      out.push({ digest: `${r.algorithm}:${h.digest('hex')}`, bytes: pos - r.offset });
      onProgress?.(pos - r.offset);
    }
    return out;
  } finally {
    await fh.close();
  }
}

function hashInWorkers(path: string, ranges: RangeToHash[], threads: number, chunk: number, onProgress?: (bytes: number) => void): Promise<RangeHash[]> {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[b]!.length - ranges[a]!.length);
  const results: (RangeHash | undefined)[] = new Array(ranges.length);
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  return new Promise<RangeHash[]>((resolve, reject) => {
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    const feed = (w: Worker): void => {
      if (next >= order.length) return;
      const id = order[next++]!;
      const r = ranges[id]!;
      w.postMessage({ id, algorithm: r.algorithm, offset: r.offset, length: r.length } satisfies HashJob);
    };
    for (let t = 0; t < threads; t++) {
      const w = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: { path, chunk } });
      workers.push(w);
      w.on('message', (m: HashResult) => {
        if (m.error !== undefined || m.digest === undefined) {
          fail(new Error(`hashing ${path} at byte ${ranges[m.id]?.offset}: ${m.error ?? 'no result'}`));
          return;
        }
        results[m.id] = { digest: m.digest, bytes: m.bytes ?? 0 };
        onProgress?.(m.bytes ?? 0);
        done++;
        if (done === ranges.length) {
          for (const x of workers) x.postMessage(null);
          resolve(results as RangeHash[]);
          return;
        }
        feed(w);
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (done < ranges.length && !failed) fail(new Error(`a hashing thread stopped (exit code ${code}) before it finished`));
      });
      for (let k = 0; k < IN_FLIGHT_PER_WORKER; k++) feed(w);
    }
  });
}
