import { Readable } from 'node:stream';
import { SizeMismatchError } from '../content/errors.js';
import { BlobCheck, markChecked } from '../content/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestAlgorithm, type Digester } from '../oci/digest.js';
import { AirgapError } from '../errors.js';
import { RegistryResponseError, RegistryUnavailableError } from './errors.js';
import type { EventSink } from './events.js';
import { backoffDelay, describeNetworkError, isRetryableError, sleep, type RetryPolicy } from './retry.js';
import { abandon, header, type HttpResponse } from './transport.js';
import { redactUrl } from './redact.js';
import type { HashPool } from '../content/hash-pool.js';

/** Smaller blobs (configs) are hashed in place: a message to a thread would cost more. */
const OFF_THREAD_MIN_BYTES = 1024 * 1024;
/** Downloaded bytes not yet hashed by the thread, at most (copies wait in memory until then). */
const MAX_PENDING_HASH_BYTES = 4 * 1024 * 1024;

export interface BlobStreamOptions {
  desc: Pick<Descriptor, 'digest' | 'size'>;
  /** Start here (the caller's own resume); bytes [0, offset) are covered by `prefix` when given. */
  offset?: number;
  prefix?: Digester;
  /** For messages: "registry.k8s.io/pause (via http://…)". */
  where: string;
  signal?: AbortSignal;
  policy: RetryPolicy;
  emit: EventSink;
  /** Hash on another thread (whole-blob downloads of at least OFF_THREAD_MIN_BYTES). */
  hashPool?: HashPool | undefined;
  /**
   * Issue the GET for bytes [offset, size): with a Range header when offset > 0. Returns a 200 or
   * 206 response; throws the right error for anything else.
   */
  open(offset: number): Promise<HttpResponse>;
}

interface Opened {
  res: HttpResponse;
  /** Bytes to drop from the front: the server ignored our Range and sent the whole blob. */
  skip: number;
}

/**
 * A verified download that survives dropped connections: when the body breaks off at byte N it
 * asks again for bytes N- (Range) and carries on, and when the server ignores Range it skips the
 * first N bytes of the full answer. The caller sees one stream, checked by a VerifyingStream
 * (size cap as bytes pass, digest at the end), so a resume can never splice in wrong bytes unseen.
 */
export async function openBlobStream(o: BlobStreamOptions): Promise<Readable> {
  const { desc } = o;
  const start = o.offset ?? 0;
  const kind = 'remote' as const;

  const openAt = async (pos: number): Promise<Opened> => {
    const res = await o.open(pos);
    const len = header(res.headers, 'content-length');
    if (res.status === 206) {
      const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header(res.headers, 'content-range') ?? '');
      if (!m || Number(m[1]) !== pos) {
        abandon(res.body);
        throw new RegistryResponseError(`download of ${desc.digest}: asked for bytes ${pos}- and got Content-Range "${header(res.headers, 'content-range') ?? ''}"`, {
          status: 206,
          endpoint: redactUrl(res.url),
        });
      }
      if (len !== undefined && pos + Number(len) > desc.size) {
        abandon(res.body);
        throw new SizeMismatchError(desc.digest, desc.size, pos + Number(len), o.where, kind);
      }
      return { res, skip: 0 };
    }
    // 200: the whole blob, whatever we asked for.
    if (len !== undefined && Number(len) > desc.size) {
      abandon(res.body);
      throw new SizeMismatchError(desc.digest, desc.size, Number(len), o.where, kind);
    }
    if (pos > 0) o.emit({ type: 'range-ignored', digest: desc.digest, offset: pos, url: redactUrl(res.url) });
    return { res, skip: pos };
  };

  // Open eagerly: a missing blob or refused credentials fail the call, not the stream.
  let current: Opened | undefined = start < desc.size ? await openAt(start) : undefined;

  // Checked as the bytes are yielded (size cap at once, digest at the end), not by a separate stage.
  // A large blob is hashed by the pool's thread while this one reads the socket and writes.
  const deferred = o.hashPool && start === 0 && desc.size >= OFF_THREAD_MIN_BYTES ? o.hashPool.digester(digestAlgorithm(desc.digest)) : undefined;
  const check = new BlobCheck(desc, { offset: start, prefix: o.prefix, where: o.where, kind, deferred });
  let finished = false;

  async function* chunks(): AsyncGenerator<Buffer> {
    let pos = start;
    let failures = 0;
    try {
      while (current) {
        let progressed = false;
        try {
          for await (const c of current.res.body) {
            let b = c as Buffer;
            if (current.skip > 0) {
              if (b.byteLength <= current.skip) {
                current.skip -= b.byteLength;
                continue;
              }
              b = b.subarray(current.skip);
              current.skip = 0;
            }
            pos += b.byteLength;
            progressed = true;
            check.update(b);
            // The thread hashes faster than any network delivers; if it ever falls behind, wait.
            if (deferred && deferred.pending > MAX_PENDING_HASH_BYTES) await deferred.drained(MAX_PENDING_HASH_BYTES / 2);
            yield b;
          }
          finished = true;
          await check.finish(); // a clean end: was it the whole blob, and the right one?
          return;
        } catch (e) {
          if (e instanceof AirgapError) throw e;
          if (o.signal?.aborted) throw o.signal.reason ?? e;
          if (!isRetryableError(e)) {
            throw new RegistryUnavailableError(`download of ${desc.digest} from ${o.where}`, failures + 1, `${describeNetworkError(e)} at byte ${pos} of ${desc.size}`, {}, { cause: e });
          }
          failures = progressed ? 1 : failures + 1;
          if (failures >= o.policy.attempts) {
            throw new RegistryUnavailableError(`download of ${desc.digest} from ${o.where}`, failures, `${describeNetworkError(e)} at byte ${pos} of ${desc.size}`, {}, { cause: e });
          }
          const wait = backoffDelay(o.policy, failures);
          o.emit({ type: 'resume', digest: desc.digest, offset: pos, size: desc.size, url: redactUrl(current.res.url), attempt: failures, reason: describeNetworkError(e) });
          abandon(current.res.body);
          current = undefined;
          await sleep(wait, o.signal);
          current = await openAt(pos);
        }
      }
      finished = true;
      await check.finish(); // nothing was left to fetch (offset at the end): still the right blob?
    } finally {
      if (!finished) check.abandon();
      if (current) abandon(current.res.body);
    }
  }

  const stream = Readable.from(chunks(), { objectMode: false });
  if (check.checksDigest) markChecked(stream, desc);
  return stream;
}
