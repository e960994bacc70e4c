import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { HashJob, HashResult } from './rehash.js';

/**
 * A hashing thread: synchronous positional reads into one large buffer, hashed as they arrive.
 * Blocking is the point here — this thread does nothing else, and two of them keep both cores busy.
 */
const { path, chunk } = workerData as { path: string; chunk: number };
const fd = openSync(path, 'r');
const buf = Buffer.allocUnsafe(chunk);

parentPort!.on('message', (msg: HashJob | null) => {
  if (msg === null) {
    closeSync(fd);
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage(hashRange(msg));
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message } satisfies HashResult);
  }
});

function hashRange(job: HashJob): HashResult {
  const h = createHash(job.algorithm);
  let pos = job.offset;
  const end = job.offset + job.length;
  let bytes = 0;
  while (pos < end) {
    const n = readSync(fd, buf, 0, Math.min(chunk, end - pos), pos);
    if (n === 0) break;
    h.update(n === buf.length ? buf : buf.subarray(0, n));
    pos += n;
    bytes += n;
  }
  return { id: job.id, digest: `${job.algorithm}:${h.digest('hex')}`, bytes };
}
