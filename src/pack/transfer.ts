import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { BundlePlan } from '../bundle/writer-plan.js';
import { copyBlob } from '../content/copy-graph.js';
import { NotFoundError } from '../content/errors.js';
import type { ResumableStorage } from '../content/resumable.js';
import type { Descriptor } from '../oci/descriptor.js';
import { imageBlobs } from './bundle-content.js';
import type { PackEvent } from './events.js';
import { throttled, type RateLimiter } from './rate-limit.js';
import type { ImageSource, ResolvedImage } from './resolve.js';

/**
 * The long part: every layer the bundle still lacks, fetched a few at a time (in plan order, which
 * a stream writer needs and a file writer does not mind), verified as it streams, written once.
 */

export interface TransferOptions {
  concurrency: number;
  retries: number;
  retryDelayMs?: number;
  rate?: RateLimiter;
  signal?: AbortSignal;
  /**
   * Start the largest layers first (a file writer places blobs anywhere): the last to finish is
   * then a small one, not a big one begun late. Default: plan order, which a stream writer needs.
   */
  largestFirst?: boolean;
  onEvent(e: PackEvent): void;
}

export interface TransferResult {
  /** bytes fetched in this run */
  fetched: number;
  /** layers fetched (wholly or the rest of) in this run */
  blobs: number;
}

export async function transferLayers(
  plan: BundlePlan,
  images: readonly ResolvedImage[],
  dst: ResumableStorage,
  opts: TransferOptions,
): Promise<TransferResult> {
  const sourcesOf = new Map<string, ImageSource[]>();
  const usersOf = new Map<string, ResolvedImage[]>();
  const remaining = new Map<ResolvedImage, Set<string>>();
  for (const r of images) {
    const left = new Set<string>();
    for (const b of imageBlobs(r)) {
      (usersOf.get(b.digest) ?? usersOf.set(b.digest, []).get(b.digest)!).push(r);
      if (!(await dst.exists(b))) left.add(b.digest);
    }
    for (const l of r.layers) {
      const list = sourcesOf.get(l.digest) ?? sourcesOf.set(l.digest, []).get(l.digest)!;
      if (!list.includes(r.repo)) list.push(r.repo);
    }
    remaining.set(r, left);
  }
  const imageDone = (r: ResolvedImage): void => {
    const blobs = imageBlobs(r);
    opts.onEvent({
      event: 'image-done',
      ref: r.image.name,
      digest: r.descriptor.digest,
      platforms: r.packed,
      bytes: blobs.reduce((n, b) => n + b.size, 0),
      blobs: blobs.length,
    });
  };
  for (const [r, left] of remaining) if (left.size === 0) imageDone(r);
  const blobDone = (digest: string): void => {
    for (const r of usersOf.get(digest) ?? []) {
      const left = remaining.get(r)!;
      if (left.delete(digest) && left.size === 0) imageDone(r);
    }
  };

  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  // Every transfer in flight listens on it (--concurrency 16 is more than Node's warning threshold).
  setMaxListeners(0, signal);
  const limit = pLimit(Math.max(1, opts.concurrency));
  const result: TransferResult = { fetched: 0, blobs: 0 };

  const copyOne = async (desc: Descriptor): Promise<void> => {
    signal.throwIfAborted();
    if (await dst.exists(desc)) return;
    const sources = sourcesOf.get(desc.digest) ?? [];
    for (let i = 0; ; i++) {
      const src = sources[i]!;
      try {
        const r = await copyBlob(throttled(src, opts.rate), dst, desc, {
          signal,
          retries: opts.retries,
          ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
          onStart: (d, offset) =>
            opts.onEvent({ event: 'blob-start', digest: d.digest, size: d.size, offset, images: (usersOf.get(d.digest) ?? []).map((u) => u.image.name) }),
          onProgress: (d, bytes) => opts.onEvent({ event: 'blob-progress', digest: d.digest, bytes }),
          onRetry: (d, e, attempt, offset) =>
            opts.onEvent({ event: 'blob-retry', digest: d.digest, attempt, offset, error: e instanceof Error ? e.message : String(e) }),
        });
        result.fetched += r.fetched;
        result.blobs++;
        opts.onEvent({ event: 'blob-done', digest: desc.digest, size: desc.size, fetched: r.fetched, resumedFrom: r.resumedFrom });
        blobDone(desc.digest);
        return;
      } catch (e) {
        // Another repository that uses the same layer may still have it (a mirror missing one repo's blob).
        if (e instanceof NotFoundError && i + 1 < sources.length) continue;
        throw e;
      }
    }
  };

  // The sort is stable: layers of one size keep their plan order.
  const order = opts.largestFirst ? [...plan.layers].sort((a, b) => b.size - a.size) : plan.layers;
  const tasks = order.map((e) =>
    limit(() => copyOne(e.descriptor!)).catch((err: unknown) => {
      controller.abort(err);
      throw err;
    }),
  );
  const settled = await Promise.allSettled(tasks);
  if (opts.signal?.aborted) throw opts.signal.reason;
  // The first failure, not the aborts it caused in the others.
  if (controller.signal.aborted) throw controller.signal.reason;
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return result;
}
