import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { FetchOptions, Fetcher } from '../content/target.js';
import type { Descriptor } from '../oci/descriptor.js';
import { UsageError } from '../errors.js';

/**
 * --limit-rate: one budget of bytes per second shared by every download, so a pack on a shared
 * link leaves room for others. A virtual clock: each chunk moves it forward by its size / rate,
 * and a reader waits until the clock is back within a short burst of now.
 */
export class RateLimiter {
  private clock = 0;
  private readonly burstMs: number;

  constructor(readonly bytesPerSecond: number, burstMs = 100) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`rate must be positive, got ${bytesPerSecond}`);
    this.burstMs = burstMs;
  }

  /** Wait until n more bytes fit the budget. */
  take(n: number): Promise<void> {
    const now = Date.now();
    this.clock = Math.max(this.clock, now - this.burstMs) + (n * 1000) / this.bytesPerSecond;
    const wait = this.clock - now - this.burstMs;
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
  }
}

class ThrottleStream extends Transform {
  constructor(private readonly limiter: RateLimiter) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.limiter.take(chunk.byteLength).then(() => cb(null, chunk), cb);
  }
}

/** A fetcher whose streams share the limiter's budget. */
export function throttled(src: Fetcher, limiter: RateLimiter | undefined): Fetcher {
  if (!limiter) return src;
  return {
    fetch: async (desc: Descriptor, opts?: FetchOptions): Promise<Readable> =>
      pipeline(await src.fetch(desc, opts), new ThrottleStream(limiter), () => {}),
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "500k", "2M", "1.5MiB", "1048576" -> bytes per second (binary units, like curl --limit-rate). */
export function parseRate(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?\s*$/i.exec(input);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isFinite(n) || n < 1) {
    throw new UsageError('ERR_INVALID_RATE', `invalid --limit-rate "${input}"`, {
      hint: 'bytes per second, with an optional unit: 500k, 2M, 1G',
      details: { input },
    });
  }
  return Math.floor(n);
}
