import type { Readable, Writable } from 'node:stream';
import { DigestMismatchError, SizeMismatchError } from '../content/errors.js';
import type { IngestState, ResumablePushOptions, ResumableStorage } from '../content/resumable.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestAlgorithm, Digester } from '../oci/digest.js';
import { TAR_END_SIZE, tarPadding } from './tar-header.js';
import { layoutHeader } from './tar-layout.js';
import { OutputBrokenError, WriterStateError } from './writer-errors.js';
import { copyPlannedFile } from './writer-file-entry.js';
import type { BundlePlan, PlannedEntry } from './writer-plan.js';

/**
 * Writes a planned bundle as one stream (`-o -`): entries strictly in plan order. The entries held
 * in memory or copied from a file are written by the writer itself as their turn comes; a layer's
 * push waits for its turn (its source stream stays paused meanwhile, so a few pushes started ahead
 * cost a socket buffer each, not memory that grows with the bundle). Bytes sent cannot be taken
 * back: a blob that fails verification breaks the stream; a network failure mid-blob continues
 * where it stopped.
 */

interface Sending {
  written: number;
  digester: Digester;
  headerSent: boolean;
  active: boolean;
}

export class BundleStreamWriter implements ResumableStorage {
  readonly description: string;
  private cursor = 0;
  private readonly index = new Map<string, number>();
  private readonly waiters = new Map<number, () => void>();
  private readonly sending = new Map<string, Sending>();
  private broken: Error | undefined;
  private pumping: Promise<void> = Promise.resolve();
  /** bytes written to the output so far */
  bytesOut = 0;

  constructor(private readonly out: Writable, readonly plan: BundlePlan, description = 'bundle stream') {
    this.description = description;
    plan.entries.forEach((e, i) => {
      if (e.descriptor) this.index.set(e.descriptor.digest, i);
    });
    out.on('error', (err: Error) => this.fail(new OutputBrokenError(err.message, { cause: err })));
    out.on('close', () => {
      if (this.cursor < plan.entries.length || !this.finished) this.fail(new OutputBrokenError('the output was closed before the end'));
    });
    this.pumping = this.pumpOrFail();
  }

  private finished = false;

  private fail(e: Error): void {
    if (this.broken) return;
    this.broken = e;
    for (const w of this.waiters.values()) w();
    this.waiters.clear();
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.broken) throw this.broken;
    if (buf.byteLength === 0) return;
    this.bytesOut += buf.byteLength;
    if (!this.out.write(buf)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
      if (this.broken) throw this.broken;
    }
  }

  /** Write every in-memory or file entry at the cursor, then wake the push whose turn it is. */
  private async pump(): Promise<void> {
    const entries = this.plan.entries;
    for (let e = entries[this.cursor]; e && (e.data || e.file); e = entries[this.cursor]) {
      if (e.data) {
        await this.write(Buffer.concat([layoutHeader(this.plan.layout, e), e.data, Buffer.alloc(tarPadding(e.size))]));
      } else {
        await this.write(layoutHeader(this.plan.layout, e));
        // New buffers each time: the output stream may hold on to a chunk after write() returned.
        await copyPlannedFile({ ...e, file: e.file! }, (chunk) => this.write(chunk), { reuse: false });
        await this.write(Buffer.alloc(tarPadding(e.size)));
      }
      this.cursor++;
    }
    this.waiters.get(this.cursor)?.();
    this.waiters.delete(this.cursor);
  }

  /** pump(), its failure (a file entry that changed, an output gone) breaking the stream for every waiter. */
  private pumpOrFail(): Promise<void> {
    return this.pump().catch((e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
  }

  private async turn(i: number): Promise<void> {
    await this.pumping;
    while (this.cursor !== i && !this.broken) {
      if (this.cursor > i) throw new WriterStateError(`entry ${this.plan.entries[i]!.name} was already written`);
      await new Promise<void>((resolve) => this.waiters.set(i, resolve));
      await this.pumping;
    }
    if (this.broken) throw this.broken;
  }

  private entryIndex(desc: Descriptor): number {
    const i = this.index.get(desc.digest);
    if (i === undefined) throw new WriterStateError(`blob ${desc.digest} is not part of this bundle's plan`, { digest: desc.digest });
    return i;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const i = this.index.get(desc.digest);
    return i !== undefined && (this.plan.entries[i]!.data !== undefined || i < this.cursor);
  }

  async fetch(): Promise<Readable> {
    throw new WriterStateError('a bundle stream cannot be read back');
  }

  async ingestState(desc: Descriptor): Promise<IngestState | undefined> {
    this.entryIndex(desc);
    const s = this.sending.get(desc.digest);
    return s && s.written > 0 ? { offset: s.written, prefix: s.digester.copy() } : undefined;
  }

  async push(desc: Descriptor, content: Readable, opts: ResumablePushOptions = {}): Promise<void> {
    const i = this.entryIndex(desc);
    const e: PlannedEntry = this.plan.entries[i]!;
    if (e.data) {
      content.resume(); // written from the plan's own copy
      return;
    }
    await this.turn(i);
    const start = opts.offset ?? 0;
    let s = this.sending.get(desc.digest);
    if (s?.active) throw new WriterStateError(`blob ${desc.digest} is already being written`);
    if ((s?.written ?? 0) !== start) {
      throw new OutputBrokenError(`blob ${desc.digest} would continue at byte ${start}, but ${s?.written ?? 0} bytes of it were already sent`);
    }
    if (!s) {
      s = { written: 0, digester: new Digester(digestAlgorithm(desc.digest)), headerSent: false, active: false };
      this.sending.set(desc.digest, s);
    }
    s.active = true;
    const where = `push to ${this.description}`;
    try {
      if (!s.headerSent) {
        await this.write(layoutHeader(this.plan.layout, e));
        s.headerSent = true;
      }
      for await (const c of content) {
        opts.signal?.throwIfAborted();
        const chunk = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
        if (s.written + chunk.byteLength > desc.size) {
          throw new SizeMismatchError(desc.digest, desc.size, s.written + chunk.byteLength, where);
        }
        // Hash before sending: the prefix state must cover exactly the bytes sent.
        s.digester.update(chunk);
        s.written += chunk.byteLength;
        await this.write(chunk);
      }
      if (s.written !== desc.size) throw new SizeMismatchError(desc.digest, desc.size, s.written, where);
      const actual = s.digester.digest();
      if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, where);
      await this.write(Buffer.alloc(tarPadding(e.size)));
      this.sending.delete(desc.digest);
      this.cursor = i + 1;
      this.pumping = this.pumpOrFail();
      await this.pumping;
    } catch (err) {
      s.active = false;
      if (err instanceof SizeMismatchError || err instanceof DigestMismatchError) {
        // Wrong bytes already went out; nothing can repair the stream.
        this.fail(new OutputBrokenError((err as Error).message, { cause: err }));
        throw this.broken;
      }
      throw err;
    }
  }

  /** After every layer was pushed: the end-of-archive blocks. Does not end the output stream. */
  async finish(): Promise<void> {
    await this.turn(this.plan.entries.length);
    await this.write(Buffer.alloc(TAR_END_SIZE));
    this.finished = true;
  }
}
