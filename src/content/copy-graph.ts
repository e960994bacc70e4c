import { NETWORK_FAILURE_CODES } from '../network-errors.js';
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import { AirgapError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { childrenOf, MAX_MANIFEST_BYTES, parseManifest } from '../oci/manifest.js';
import { isManifestMediaType } from '../oci/media-type.js';
import { DigestMismatchError, NotFoundError, SizeMismatchError } from './errors.js';
import { isResumableStorage, type IngestState } from './resumable.js';
import type { Fetcher, ReadOnlyStorage, Storage } from './target.js';
import { readAll } from './verify-stream.js';

/**
 * The one copy engine: a blob from any source into any destination (resuming and retrying), and a
 * whole graph (index -> manifests -> config + layers) children first, each blob once. pack copies
 * registry -> bundle with it; load copies bundle -> registry / containerd.
 */

export interface CopyBlobOptions {
  signal?: AbortSignal;
  /** More attempts after a network failure; each continues from what the destination holds. Default 3. */
  retries?: number;
  /** First pause between attempts, doubled each time (capped at 8 s). Default 250 ms. */
  retryDelayMs?: number;
  /** A transfer of desc starts (again), at this offset (> 0 when resuming). */
  onStart?(desc: Descriptor, offset: number): void;
  /** bytes received for desc since the last call */
  onProgress?(desc: Descriptor, bytes: number): void;
  onRetry?(desc: Descriptor, error: unknown, attempt: number, offset: number): void;
}

export interface CopyBlobResult {
  /** bytes fetched from the source in this call, over all attempts */
  fetched: number;
  /** where the first attempt started (bytes the destination already held) */
  resumedFrom: number;
  attempts: number;
}

// A stream cut short or aborted by undici mid-copy is resumed too.
const NETWORK_CODES: ReadonlySet<string> = new Set([...NETWORK_FAILURE_CODES, 'UND_ERR_ABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Wrong bytes (a broken proxy or link) are fetched again from 0 at most this often: a flaky
 * middlebox rarely corrupts the same blob three times, a registry serving bad content always does.
 */
const MAX_RESTARTS = 2;

/** Worth another attempt: the network failed, or bytes arrived wrong (may be a broken proxy; restarted from 0). */
export function retryKind(e: unknown): 'resume' | 'restart' | undefined {
  if (e instanceof DigestMismatchError || e instanceof SizeMismatchError) return 'restart';
  if (e instanceof NotFoundError) return undefined;
  if (e instanceof AirgapError) return e.kind === 'remote' ? 'resume' : undefined;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'resume';
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause && cause !== e ? retryKind(cause) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Copy one blob. A destination that keeps partial content (ResumableStorage) is asked where to
 * start, so an interrupted blob continues with a Range request and is still verified whole; other
 * destinations start again from 0 on a retry.
 */
export async function copyBlob(src: Fetcher, dst: Storage, desc: Descriptor, opts: CopyBlobOptions = {}): Promise<CopyBlobResult> {
  const retries = opts.retries ?? 3;
  let delay = opts.retryDelayMs ?? 250;
  let fetched = 0;
  let resumedFrom = -1;
  let restarts = 0;
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted();
    const state: IngestState | undefined = isResumableStorage(dst) ? await dst.ingestState(desc) : undefined;
    const offset = state?.offset ?? 0;
    if (resumedFrom < 0) resumedFrom = offset;
    let stream: Readable | undefined;
    try {
      opts.onStart?.(desc, offset);
      stream = await src.fetch(desc, { signal: opts.signal, ...(state ? { offset, prefix: state.prefix.copy() } : {}) });
      // Counted by watching the chunks the destination reads ('data' is emitted for each read,
      // whichever way it consumes), not by a pass-through stage: one stage fewer per chunk, and
      // the source's own check mark stays on the stream the destination gets.
      stream.on('data', (c: Buffer | string) => {
        fetched += c.length;
        opts.onProgress?.(desc, c.length);
      });
      stream.pause(); // the listener must not start the flow before the destination reads
      // A failure before the destination listens (a truncated source read ahead) must not be an
      // uncaught 'error' event; the destination still meets it, the stream being destroyed.
      stream.on('error', () => {});
      if (state && isResumableStorage(dst)) await dst.push(desc, stream, { signal: opts.signal, offset, prefix: state.prefix });
      else await dst.push(desc, stream, { signal: opts.signal });
      return { fetched, resumedFrom, attempts: attempt + 1 };
    } catch (e) {
      stream?.destroy();
      const kind = opts.signal?.aborted ? undefined : retryKind(e);
      if (!kind || attempt >= retries || (kind === 'restart' && restarts++ >= MAX_RESTARTS)) throw e;
      opts.onRetry?.(desc, e, attempt + 1, isResumableStorage(dst) ? ((await dst.ingestState(desc))?.offset ?? 0) : 0);
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, 8000);
    }
  }
}

export interface CopyGraphOptions extends CopyBlobOptions {
  /** Blobs copied at once. Default 4. Ignored when `limit` is given. */
  concurrency?: number;
  /** A limiter shared by several copyGraph calls (with `inFlight`), so they dedupe and share slots. */
  limit?: LimitFunction;
  /** digest -> the copy under way, shared by several copyGraph calls so a blob two graphs share is copied once */
  inFlight?: Map<string, Promise<void>>;
  /** The children of a node; default: manifests and indexes are fetched from src and parsed. */
  successors?(desc: Descriptor, src: ReadOnlyStorage, signal: AbortSignal): Promise<Descriptor[]>;
  /** Follow this child of `parent`? (a platform filter, skipping foreign layers) Default: all. */
  filter?(desc: Descriptor, parent: Descriptor): boolean;
  onCopied?(desc: Descriptor, result: CopyBlobResult): void;
  /** desc was already in the destination (its whole subgraph is then taken as present) */
  onSkipped?(desc: Descriptor): void;
}

export interface CopyGraphStats {
  copied: number;
  skipped: number;
  /** bytes fetched from the source */
  bytes: number;
}

/**
 * Copy the graph under root from src to dst: children before their parent (a registry refuses a
 * manifest whose blobs are missing), a node already in dst is skipped with its subgraph, a node two
 * parents share is copied once, and a limiter slot is never held while waiting on children (which
 * would deadlock deep graphs). The first failure aborts the rest.
 */
export async function copyGraph(src: ReadOnlyStorage, dst: Storage, root: Descriptor, opts: CopyGraphOptions = {}): Promise<CopyGraphStats> {
  const limit = opts.limit ?? pLimit(opts.concurrency ?? 4);
  const inFlight = opts.inFlight ?? new Map<string, Promise<void>>();
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  // Every transfer in flight listens on it (--concurrency 16 is more than Node's warning threshold).
  setMaxListeners(0, signal);
  const manifests = new Map<string, Buffer>();
  const stats: CopyGraphStats = { copied: 0, skipped: 0, bytes: 0 };

  const successors = opts.successors ?? (async (desc: Descriptor, from: ReadOnlyStorage, sig: AbortSignal): Promise<Descriptor[]> => {
    if (!isManifestMediaType(desc.mediaType)) return [];
    const bytes = await readAll(await from.fetch(desc, { signal: sig }), Math.min(desc.size, MAX_MANIFEST_BYTES));
    manifests.set(desc.digest, bytes);
    return childrenOf(parseManifest(bytes, desc.mediaType));
  });
  // A manifest already read for its children is pushed from memory rather than fetched twice.
  const source: ReadOnlyStorage = {
    description: src.description,
    exists: (d) => src.exists(d),
    fetch: async (d, o) => {
      const held = manifests.get(d.digest);
      if (held && !o?.offset) return Readable.from([held]);
      return src.fetch(d, o);
    },
  };

  const visit = (desc: Descriptor): Promise<void> => {
    const running = inFlight.get(desc.digest);
    if (running) return running;
    const task = (async () => {
      if (await limit(() => dst.exists(desc))) {
        stats.skipped++;
        opts.onSkipped?.(desc);
        return;
      }
      const children = (await limit(() => successors(desc, src, signal))).filter((c) => !opts.filter || opts.filter(c, desc));
      await Promise.all(children.map(visit));
      const result = await limit(() => copyBlob(source, dst, desc, { ...opts, signal }));
      stats.copied++;
      stats.bytes += result.fetched;
      opts.onCopied?.(desc, result);
    })();
    task.catch((e: unknown) => controller.abort(e));
    inFlight.set(desc.digest, task);
    return task;
  };

  await visit(root);
  return stats;
}
