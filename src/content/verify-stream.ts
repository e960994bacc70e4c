import { Transform, type TransformCallback } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import { digestAlgorithm, Digester } from '../oci/digest.js';
import type { ErrorKind } from '../errors.js';
import { DigestMismatchError, SizeMismatchError } from './errors.js';

export interface VerifyOptions {
  /** Bytes [0, offset) were already seen; with `prefix` their hash state continues the check. */
  offset?: number;
  prefix?: Digester;
  /** Where the bytes come from, for the error message. */
  where: string;
  /** Network content is a 'remote' failure (retryable elsewhere); stored content a 'check' failure. */
  kind?: ErrorKind;
}

/**
 * Streams known to check, by the time they end, a whole blob's size and digest. A consumer that
 * would hash the same bytes again (an upload, the bundle writer) may rely on the check instead:
 * the stream fails rather than ends when the bytes are wrong. One hash per copy, not two.
 */
const checked = new WeakMap<object, { digest: string; size: number }>();

/** `stream` ends only if its bytes are exactly the blob `desc` (a pass-through of a checked stream). */
export function markChecked(stream: object, desc: { digest: string; size: number }): void {
  checked.set(stream, { digest: desc.digest, size: desc.size });
}

/** Does `stream` check, by its end, that its bytes are the whole of `desc`? */
export function isCheckedFor(stream: object, desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
  const c = checked.get(stream);
  return c !== undefined && c.digest === desc.digest && c.size === desc.size;
}

/** What `stream` is checked against, to carry the mark over to a pass-through. */
export function checkedDescOf(stream: object): { digest: string; size: number } | undefined {
  return checked.get(stream);
}

/**
 * VerifyingStream's check without a stream stage, for a producer that checks its own bytes as it
 * yields them (one stage fewer per chunk on the download path): update() throws the moment the
 * size is exceeded, finish() when the total or the digest is wrong.
 */
/** A digest computed elsewhere (another thread): given the bytes in order, answered later. */
export interface DeferredDigester {
  update(chunk: Uint8Array): void;
  digest(): Promise<string>;
  abort(): void;
}

export class BlobCheck {
  private readonly digester: Digester | undefined;
  private readonly deferred: DeferredDigester | undefined;
  private seen: number;

  /** With `deferred` (only from byte 0), the digest is computed off this thread and finish() waits for it. */
  constructor(private readonly desc: Pick<Descriptor, 'digest' | 'size'>, private readonly opts: VerifyOptions & { deferred?: DeferredDigester | undefined }) {
    this.seen = opts.offset ?? 0;
    if (this.seen === 0 && opts.deferred) this.deferred = opts.deferred;
    else if (this.seen === 0) this.digester = new Digester(digestAlgorithm(desc.digest));
    else if (opts.prefix) {
      if (opts.prefix.size !== this.seen) throw new Error(`prefix hash covers ${opts.prefix.size} bytes, offset is ${this.seen}`);
      this.digester = opts.prefix.copy();
    }
  }

  /** The digest is checked too (not only the size): a stream ending after finish() may be marked checked. */
  get checksDigest(): boolean {
    return this.digester !== undefined || this.deferred !== undefined;
  }

  update(chunk: Buffer): void {
    this.seen += chunk.byteLength;
    if (this.seen > this.desc.size) throw new SizeMismatchError(this.desc.digest, this.desc.size, this.seen, this.opts.where, this.opts.kind);
    if (this.deferred) this.deferred.update(chunk);
    else this.digester?.update(chunk);
  }

  async finish(): Promise<void> {
    if (this.seen !== this.desc.size) throw new SizeMismatchError(this.desc.digest, this.desc.size, this.seen, this.opts.where, this.opts.kind);
    const actual = this.deferred ? await this.deferred.digest() : this.digester?.digest();
    if (actual !== undefined && actual !== this.desc.digest) throw new DigestMismatchError(this.desc.digest, actual, this.opts.where, this.opts.kind);
  }

  /** The check will not finish (the download failed): let go of work queued elsewhere. */
  abandon(): void {
    this.deferred?.abort();
  }
}

/**
 * A pass-through that caps the byte count at desc.size (failing the moment it is exceeded, so a
 * hostile source cannot make us write more) and checks the digest at the end.
 */
export class VerifyingStream extends Transform {
  private readonly digester: Digester | undefined;
  private seen: number;

  constructor(private readonly desc: Pick<Descriptor, 'digest' | 'size'>, private readonly opts: VerifyOptions) {
    super();
    this.seen = opts.offset ?? 0;
    if (this.seen === 0) this.digester = new Digester(digestAlgorithm(desc.digest));
    else if (opts.prefix) {
      if (opts.prefix.size !== this.seen) throw new Error(`prefix hash covers ${opts.prefix.size} bytes, offset is ${this.seen}`);
      this.digester = opts.prefix.copy();
    }
    // Without a hash state for the bytes before `offset` only the size is checked: no mark.
    if (this.digester) markChecked(this, desc);
  }

  get bytesSeen(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.byteLength;
    if (this.seen > this.desc.size) {
      cb(new SizeMismatchError(this.desc.digest, this.desc.size, this.seen, this.opts.where, this.opts.kind));
      return;
    }
    this.digester?.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.desc.size) {
      cb(new SizeMismatchError(this.desc.digest, this.desc.size, this.seen, this.opts.where, this.opts.kind));
      return;
    }
    if (this.digester) {
      const actual = this.digester.digest();
      if (actual !== this.desc.digest) {
        cb(new DigestMismatchError(this.desc.digest, actual, this.opts.where, this.opts.kind));
        return;
      }
    }
    cb();
  }
}

/** Read a whole (small) stream into memory, refusing more than `max` bytes. */
export async function readAll(stream: NodeJS.ReadableStream, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    n += b.byteLength;
    if (n > max) throw new Error(`content exceeds ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}
