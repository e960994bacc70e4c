import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf } from '../oci/digest.js';
import { NotFoundError } from './errors.js';
import type { FetchOptions, Target } from './target.js';
import { readAll, VerifyingStream } from './verify-stream.js';

/** A target held in memory: for tests and for small graphs (manifests, configs) resolved before a copy. */
export class MemoryStore implements Target {
  readonly description: string;
  private readonly blobs = new Map<string, Buffer>();
  private readonly refs = new Map<string, Descriptor>();

  constructor(description = 'memory store') {
    this.description = description;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.blobs.has(desc.digest);
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const data = this.blobs.get(desc.digest);
    if (!data) throw new NotFoundError(desc.digest, this.description);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > data.byteLength) {
      throw new RangeError(`offset ${offset} is outside 0..${data.byteLength}`);
    }
    return Readable.from([data.subarray(offset)]).pipe(
      new VerifyingStream(desc, { offset, prefix: opts.prefix, where: this.description }),
    );
  }

  async push(desc: Descriptor, content: Readable): Promise<void> {
    const verify = new VerifyingStream(desc, { where: `push to ${this.description}` });
    // pipeline, not pipe: a source that fails mid-stream must fail the push, not hang it.
    const [, data] = await Promise.all([pipeline(content, verify), readAll(verify, desc.size)]);
    this.blobs.set(desc.digest, data);
  }

  /** Store bytes directly and return their descriptor. */
  put(mediaType: string, data: Buffer | string): Descriptor {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const desc: Descriptor = { mediaType, digest: digestOf(buf), size: buf.byteLength };
    this.blobs.set(desc.digest, buf);
    return desc;
  }

  get(digest: string): Buffer | undefined {
    return this.blobs.get(digest);
  }

  delete(digest: string): void {
    this.blobs.delete(digest);
  }

  async resolve(reference: string): Promise<Descriptor> {
    const d = this.refs.get(reference);
    if (!d) throw new NotFoundError(reference, this.description);
    return d;
  }

  async tag(desc: Descriptor, reference: string): Promise<void> {
    if (!this.blobs.has(desc.digest)) throw new NotFoundError(desc.digest, this.description);
    this.refs.set(reference, desc);
  }

  references(): Map<string, Descriptor> {
    return new Map(this.refs);
  }
}
