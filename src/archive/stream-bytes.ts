import type { TarBytes, TarEntry } from '../bundle/tar-index.js';

/**
 * A tar archive read once, front to back, from a stream (stdin, a decompressor): the tar indexer's
 * byte source. Header bytes are buffered; each entry's data is handed, as it passes, to the sink
 * `onEntry` gives for it (or dropped), awaiting the sink so a slow consumer slows the reader.
 */

export interface EntrySink {
  write(chunk: Buffer): void | Promise<void>;
  /** `present`: bytes that arrived (fewer than the entry's size when the archive was cut short). */
  end(present: number): void | Promise<void>;
}

export class StreamTarBytes implements TarBytes {
  private buf: Buffer = Buffer.alloc(0);
  /** Absolute offset of buf[0]. */
  private start = 0;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly onEntry: (entry: TarEntry) => EntrySink | undefined,
    private readonly mapError: (e: unknown) => unknown = (e) => e,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  size(): number {
    return this.start + this.buf.length;
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.ended) return undefined;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.mapError(e);
    }
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    return chunk;
  }

  /** Drop bytes before pos (reading and discarding up to it). */
  private async skipTo(pos: number): Promise<void> {
    while (this.start + this.buf.length < pos) {
      this.start += this.buf.length;
      this.buf = Buffer.alloc(0);
      const c = await this.next();
      if (!c) return;
      this.buf = c;
      this.onProgress?.(this.start + c.length);
    }
    const cut = pos - this.start;
    if (cut > 0) {
      this.buf = this.buf.subarray(cut);
      this.start = pos;
    }
  }

  private async fill(upto: number): Promise<void> {
    while (this.start + this.buf.length < upto) {
      const c = await this.next();
      if (!c) return;
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      this.onProgress?.(this.start + this.buf.length);
    }
  }

  async bytes(pos: number, len: number): Promise<Buffer> {
    if (pos < this.start) throw new Error(`tar stream: read at ${pos} after ${this.start} (internal)`);
    await this.skipTo(pos);
    await this.fill(pos + len);
    return this.buf.subarray(0, Math.min(len, this.buf.length));
  }

  async endsBy(pos: number): Promise<boolean> {
    await this.skipTo(Math.max(pos, this.start));
    await this.fill(pos + 1);
    return this.start + this.buf.length <= pos;
  }

  async data(entry: TarEntry, pos: number, len: number): Promise<number> {
    await this.skipTo(pos);
    const sink = this.onEntry(entry);
    let got = 0;
    while (got < len) {
      if (this.buf.length === 0) {
        const c = await this.next();
        if (!c) break;
        this.buf = c;
        this.onProgress?.(this.start + c.length);
      }
      const take = Math.min(len - got, this.buf.length);
      const piece = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.start += take;
      got += take;
      if (sink) await sink.write(piece);
    }
    if (sink) await sink.end(got);
    return got;
  }

  async rest(pos: number, look: number): Promise<boolean> {
    await this.skipTo(Math.max(pos, this.start));
    let nonZero = false;
    let looked = 0;
    for (;;) {
      if (looked < look && this.buf.length) {
        const part = this.buf.subarray(0, Math.min(this.buf.length, look - looked));
        if (part.some((b) => b !== 0)) nonZero = true;
        looked += part.length;
      }
      this.start += this.buf.length;
      this.buf = Buffer.alloc(0);
      const c = await this.next();
      if (!c) return nonZero;
      this.buf = c;
      this.onProgress?.(this.start + c.length);
    }
  }
}
