import { releaseChunk } from '../content/slab-pool.js';
import { createReadStream, fdatasyncSync } from 'node:fs';
import { open, readFile, rename, stat, statfs, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { DigestMismatchError, NotFoundError, SizeMismatchError } from '../content/errors.js';
import type { IngestState, ResumablePushOptions, ResumableStorage } from '../content/resumable.js';
import type { FetchOptions } from '../content/target.js';
import { isCheckedFor, VerifyingStream } from '../content/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestAlgorithm, Digester } from '../oci/digest.js';
import { TAR_END_SIZE, tarPadding } from './tar-header.js';
import { layoutHeader } from './tar-layout.js';
import { FileError } from '../errors.js';
import { NotEnoughSpaceError, OutputBusyError, OutputSyncError, WriterStateError } from './writer-errors.js';
import { copyPlannedFile, digestOfRange } from './writer-file-entry.js';
import { JOURNAL_VERSION, readJournal, removeJournal, writeJournal, writeJournalSync, type WriterJournal } from './writer-journal.js';
import type { BundlePlan, PlannedEntry } from './writer-plan.js';
import { DataSyncer } from './writer-sync.js';
import { trace } from '../trace.js';

/**
 * Writes a planned bundle into a file: every entry straight to its final offset in OUT.partial
 * (positional writes, so blobs land in parallel and in any order), checkpointed to OUT.partial.json
 * so a re-run with the same plan continues where the last one stopped, and renamed to OUT only
 * when every blob is in and verified. Nothing partial ever sits under OUT. What is written is
 * flushed to disk in the background as it piles up (./writer-sync.ts), so the fdatasync before the
 * rename has only the tail left.
 */

/** Bytes gathered before a positional write; on a slow link a batch is also written after FLUSH_MS. */
const WRITE_BATCH = 512 * 1024;
const FLUSH_MS = 250;
/**
 * Bytes written between background fdatasyncs. Measured on ext4 (343 MiB, scale 1): the fdatasync
 * before the rename took ~130 ms without, ~8 / ~10 / ~35 ms at 32 / 64 / 128 MiB, the transfer
 * unchanged; 64 keeps the tail short with half the flushes of 32 (each is a journal commit).
 */
export const FLUSH_EVERY = 64 * 1024 * 1024;

export interface BundleFileWriterOptions {
  /** how often progress is made durable (fdatasync + journal), default 1000 ms */
  checkpointMs?: number;
  /** the creation time recorded in the metadata (goes into the journal for resumes) */
  created: string;
  /** a message for the user: an earlier partial bundle discarded, a resume */
  onNotice?(code: 'PARTIAL_DISCARDED' | 'RESUMING', message: string): void;
  /** bytes written between background flushes, default FLUSH_EVERY; 0: flush only at checkpoints */
  flushEveryBytes?: number;
  /** fdatasync of the partial file (default fh.datasync()): a seam for tests to count or fail it */
  sync?(fh: FileHandle): Promise<void>;
}

export interface ResumeInfo {
  /** layers already complete from an earlier run */
  blobs: number;
  /** bytes of layers already in place, complete or partial */
  bytes: number;
}

interface InProgress {
  written: number;
  digester: Digester;
  active: boolean;
}

export function partialPathOf(output: string): string {
  return `${output}.partial`;
}
export function journalPathOf(output: string): string {
  return `${output}.partial.json`;
}
function lockPathOf(output: string): string {
  return `${output}.partial.lock`;
}

/** Outputs open in this process (a lock file naming our own pid may be a dead container's pid 1). */
const openHere = new Set<string>();

async function acquireLock(output: string): Promise<string> {
  const lock = lockPathOf(output);
  if (openHere.has(output)) throw new OutputBusyError(output, process.pid, lock);
  for (let i = 0; i < 2; i++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      openHere.add(output);
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new OutputBusyError(output, pid, lock);
      await unlink(lock).catch(() => {}); // left by a process that died (kill -9): take it over
    }
  }
  throw new OutputBusyError(output, 0, lock);
}

async function releaseLock(output: string, lock: string): Promise<void> {
  openHere.delete(output);
  await unlink(lock).catch(() => {});
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class BundleFileWriter implements ResumableStorage {
  readonly description: string;
  readonly partialPath: string;
  readonly journalPath: string;
  private readonly done = new Set<string>();
  /** journaled prefixes from an earlier run, re-hashed when the blob's turn comes */
  private readonly partial = new Map<string, number>();
  private readonly progress = new Map<string, InProgress>();
  private timer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  private closed = false;
  private readonly onExit = (): void => this.checkpointSync();
  private resumeInfo: ResumeInfo = { blobs: 0, bytes: 0 };
  private readonly syncer: DataSyncer;

  private constructor(
    readonly output: string,
    readonly plan: BundlePlan,
    private readonly fh: FileHandle,
    private readonly lockPath: string,
    private readonly opts: BundleFileWriterOptions,
  ) {
    this.description = `bundle ${output}`;
    this.partialPath = partialPathOf(output);
    this.journalPath = journalPathOf(output);
    const sync = opts.sync;
    this.syncer = new DataSyncer(
      sync ? () => sync(fh) : () => fh.datasync(),
      opts.flushEveryBytes ?? FLUSH_EVERY,
      (e) => new OutputSyncError(this.partialPath, e),
    );
  }

  /** Flushes started in the background so far (traces and tests). */
  get backgroundFlushes(): number {
    return this.syncer.background;
  }

  /** The journal of an interrupted earlier run for this output, if any (its `created` is reused on resume). */
  static async inspect(output: string): Promise<WriterJournal | undefined> {
    return readJournal(journalPathOf(output));
  }

  /**
   * Open OUT.partial for the plan: continue an earlier partial file laid out for the same plan,
   * else start a new one (an old one for another plan is discarded, with a notice).
   */
  static async open(output: string, plan: BundlePlan, opts: BundleFileWriterOptions): Promise<BundleFileWriter> {
    output = resolvePath(output);
    const dir = dirname(output);
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
      throw new FileError('ERR_OUTPUT_DIR', `cannot write ${output}: ${dir} is not a directory`, {
        hint: 'create the directory first, or choose another path with -o',
        details: { output, dir },
      });
    }
    const lockPath = await acquireLock(output);
    let fh: FileHandle | undefined;
    let w: BundleFileWriter | undefined;
    try {
      const partialPath = partialPathOf(output);
      const journal = await readJournal(journalPathOf(output));
      const partialSize = await stat(partialPath).then((s) => s.size, () => -1);
      const resume = journal !== undefined && journal.planId === plan.id && journal.size === plan.size && partialSize === plan.size;
      if (!resume && partialSize >= 0) {
        opts.onNotice?.('PARTIAL_DISCARDED', `discarding ${basename(partialPath)} from an earlier run: it was laid out for other arguments or other upstream content`);
      }
      if (!resume) {
        await removeJournal(journalPathOf(output));
        await checkSpace(dirname(output), plan.size, Math.max(partialSize, 0));
      }
      fh = await open(partialPath, resume ? 'r+' : 'w+');
      if (!resume) await fh.truncate(plan.size);
      w = new BundleFileWriter(output, plan, fh, lockPath, opts);
      if (resume) w.adopt(journal);
      await w.writeFixedParts();
      const writer = w;
      w.timer = setInterval(() => void writer.checkpoint().catch(() => {}), opts.checkpointMs ?? 1000);
      w.timer.unref();
      process.on('exit', w.onExit);
      await w.checkpoint();
      return w;
    } catch (e) {
      if (w) {
        w.stopTimer();
        w.closed = true;
        process.off('exit', w.onExit);
      }
      await fh?.close().catch(() => {});
      await releaseLock(output, lockPath);
      throw e;
    }
  }

  /** What an earlier run left that this one keeps. */
  get resumed(): ResumeInfo {
    return this.resumeInfo;
  }

  private adopt(journal: WriterJournal): void {
    let bytes = 0;
    for (const d of journal.done) {
      const e = this.plan.blobs.get(d);
      if (e && !e.data) {
        this.done.add(d);
        bytes += e.size;
      }
    }
    for (const [d, n] of Object.entries(journal.partial)) {
      const e = this.plan.blobs.get(d);
      if (e && !e.data && !this.done.has(d) && n > 0 && n < e.size) {
        this.partial.set(d, n);
        bytes += n;
      }
    }
    this.resumeInfo = { blobs: this.done.size, bytes };
    if (this.done.size || this.partial.size) {
      this.opts.onNotice?.('RESUMING', `resuming ${basename(this.partialPath)}: ${this.done.size} blobs complete, ${this.partial.size} partly written`);
    }
  }

  /**
   * Every header, every in-memory entry (metadata, index, manifests, configs), every entry copied
   * from a file (executables; checked against the plan as they are copied) and the end blocks.
   */
  private async writeFixedParts(): Promise<void> {
    for (const e of this.plan.entries) {
      const header = layoutHeader(this.plan.layout, e);
      if (e.data) {
        const buf = Buffer.concat([header, e.data, Buffer.alloc(tarPadding(e.size))]);
        await this.writeAt(buf, e.headerOffset);
      } else if (e.file) {
        await this.writeAt(header, e.headerOffset);
        let pos = e.dataOffset;
        await copyPlannedFile({ ...e, file: e.file }, async (chunk) => {
          await this.writeAt(chunk, pos);
          pos += chunk.byteLength;
        }, { reuse: true });
        await this.writeAt(Buffer.alloc(tarPadding(e.size)), pos);
      } else {
        await this.writeAt(header, e.headerOffset);
      }
    }
    await this.writeAt(Buffer.alloc(TAR_END_SIZE), this.plan.layout.endOffset);
  }

  private async writeAt(buf: Buffer, position: number): Promise<void> {
    let off = 0;
    while (off < buf.byteLength) {
      this.syncer.check();
      const { bytesWritten } = await this.fh.write(buf, off, buf.byteLength - off, position + off);
      this.syncer.wrote(bytesWritten);
      off += bytesWritten;
    }
  }

  /** Write `total` bytes from `bufs` at `position`, finishing a short write. */
  private async writevAt(bufs: Buffer[], total: number, position: number): Promise<void> {
    this.syncer.check();
    let { bytesWritten } = await this.fh.writev(bufs, position);
    this.syncer.wrote(bytesWritten);
    if (bytesWritten === total) return;
    // A short writev (rare: signals, quotas): write the rest plainly.
    for (const b of bufs) {
      if (bytesWritten >= b.byteLength) {
        bytesWritten -= b.byteLength;
        position += b.byteLength;
        continue;
      }
      const rest = b.subarray(bytesWritten);
      await this.writeAt(rest, position + bytesWritten);
      position += b.byteLength;
      bytesWritten = 0;
    }
  }

  private entryOf(desc: Descriptor): PlannedEntry {
    const e = this.plan.blobs.get(desc.digest);
    if (!e) throw new WriterStateError(`blob ${desc.digest} is not part of this bundle's plan`, { digest: desc.digest });
    if (e.size !== desc.size) throw new SizeMismatchError(desc.digest, e.size, desc.size, `the plan of ${this.description}`, 'internal');
    return e;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const e = this.plan.blobs.get(desc.digest);
    return e !== undefined && (e.data !== undefined || this.done.has(desc.digest));
  }

  /** Read back a blob already in place (verified as it is read). */
  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    if (!(await this.exists(desc))) throw new NotFoundError(desc.digest, this.description);
    const e = this.entryOf(desc);
    const offset = opts.offset ?? 0;
    const verify = new VerifyingStream(desc, { offset, prefix: opts.prefix, where: this.description });
    if (offset >= e.size) return Readable.from([]).pipe(verify);
    const raw = createReadStream(this.partialPath, { start: e.dataOffset + offset, end: e.dataOffset + e.size - 1, signal: opts.signal });
    raw.on('error', (err) => verify.destroy(err));
    return raw.pipe(verify);
  }

  async ingestState(desc: Descriptor): Promise<IngestState | undefined> {
    const e = this.entryOf(desc);
    let p = this.progress.get(desc.digest);
    if (!p) {
      const n = this.partial.get(desc.digest);
      if (!n) return undefined;
      // Re-hash what an earlier run wrote, so the whole blob is still verified at the end.
      const digester = new Digester(digestAlgorithm(desc.digest));
      const buf = Buffer.allocUnsafe(Math.min(WRITE_BATCH, n));
      for (let pos = 0; pos < n; ) {
        const { bytesRead } = await this.fh.read(buf, 0, Math.min(buf.byteLength, n - pos), e.dataOffset + pos);
        if (bytesRead === 0) break;
        digester.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      if (digester.size !== n) return undefined;
      p = { written: n, digester, active: false };
      this.progress.set(desc.digest, p);
    }
    return p.written > 0 ? { offset: p.written, prefix: p.digester.copy() } : undefined;
  }

  /**
   * Write a blob at its planned place as it streams in, verifying size and digest; with `offset`
   * (and `prefix`, from ingestState) the stream carries only the rest of the blob.
   */
  async push(desc: Descriptor, content: Readable, opts: ResumablePushOptions = {}): Promise<void> {
    const e = this.entryOf(desc);
    if (this.closed) throw new WriterStateError(`${this.description} is closed`);
    const start = opts.offset ?? 0;
    const known = this.progress.get(desc.digest);
    if (known?.active) throw new WriterStateError(`blob ${desc.digest} is already being written`, { digest: desc.digest });
    if (start > 0 && (!opts.prefix || opts.prefix.size !== start || !known || known.written < start)) {
      throw new WriterStateError(`cannot continue blob ${desc.digest} at ${start}: only ${known?.written ?? 0} bytes are in place`);
    }
    const p: InProgress = { written: start, digester: start > 0 ? opts.prefix!.copy() : new Digester(digestAlgorithm(desc.digest)), active: true };
    this.progress.set(desc.digest, p);
    // A stream that itself checks the whole blob (a registry download) fails instead of ending
    // when the bytes are wrong: hashing them here again would double the CPU a pack spends. Then
    // p.digester stays empty, and a blob cut short is left for ingestState to re-hash from the file.
    const hashed = !(start === 0 && isCheckedFor(content, desc));
    this.partial.delete(desc.digest);
    const where = `push to ${this.description}`;
    // Chunks are gathered by reference and written with one positional writev: no copy into a
    // batch buffer, and no concatenation by an async iterator reading everything buffered.
    const pending: Buffer[] = [];
    let fill = 0;
    let flushed = Date.now();
    const flush = async (): Promise<void> => {
      flushed = Date.now();
      if (fill === 0) return;
      const bufs = pending.splice(0);
      const n = fill;
      fill = 0;
      await this.writevAt(bufs, n, e.dataOffset + p.written);
      if (hashed) for (const b of bufs) p.digester.update(b);
      // In the file and hashed: nothing reads these chunks again, their read buffers may be reused.
      for (const b of bufs) releaseChunk(b);
      p.written += n;
    };
    try {
      await consume(content, async (chunk) => {
        opts.signal?.throwIfAborted();
        if (p.written + fill + chunk.byteLength > desc.size) {
          throw new SizeMismatchError(desc.digest, desc.size, p.written + fill + chunk.byteLength, where);
        }
        pending.push(chunk);
        fill += chunk.byteLength;
        // On a slow link, put what came in place soon, so a checkpoint (and a kill) keeps it.
        if (fill >= WRITE_BATCH || Date.now() - flushed >= FLUSH_MS) await flush();
      });
      await flush();
      if (p.written !== desc.size) throw new SizeMismatchError(desc.digest, desc.size, p.written, where);
      if (hashed) {
        const actual = p.digester.digest();
        if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, where);
      }
      this.done.add(desc.digest);
      this.progress.delete(desc.digest);
    } catch (err) {
      // Wrong bytes are worthless: the next attempt starts from 0. Anything else keeps the prefix.
      if (err instanceof SizeMismatchError || err instanceof DigestMismatchError) this.progress.delete(desc.digest);
      else {
        // Keep every byte that arrived before the failure, so the next attempt asks for less.
        await flush().catch(() => {});
        p.active = false;
        if (!hashed) {
          // No hash state for those bytes: ingestState re-hashes them from the file, as after a restart.
          this.progress.delete(desc.digest);
          if (p.written > 0) this.partial.set(desc.digest, p.written);
        }
      }
      throw err;
    }
  }

  private snapshot(): WriterJournal {
    const partial: Record<string, number> = {};
    for (const [d, n] of this.partial) partial[d] = n;
    for (const [d, p] of this.progress) if (p.written > 0) partial[d] = p.written;
    return {
      version: JOURNAL_VERSION,
      planId: this.plan.id,
      size: this.plan.size,
      created: this.opts.created,
      mtime: this.plan.layout.mtime,
      done: [...this.done].sort(),
      partial,
    };
  }

  /**
   * Make progress so far durable: data first, then the journal that points at it. The snapshot
   * is taken before the flush, so it claims only bytes whose write completed before the flush
   * was asked for: bytes the flush covers.
   */
  async checkpoint(): Promise<void> {
    if (this.closed) return;
    if (this.checkpointing) return this.checkpointing;
    this.checkpointing = (async () => {
      const journal = this.snapshot();
      await this.syncer.flush();
      await writeJournal(this.journalPath, journal);
    })().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private checkpointSync(): void {
    // After a failed flush the data on disk is in doubt: the last journal written stays.
    if (this.closed || this.syncer.failure) return;
    try {
      fdatasyncSync(this.fh.fd);
      writeJournalSync(this.journalPath, this.snapshot());
    } catch {
      // best effort on the way out; the last periodic checkpoint still holds
    }
  }

  /** Layers not yet complete. */
  missing(): PlannedEntry[] {
    return this.plan.layers.filter((e) => !this.done.has(e.descriptor!.digest));
  }

  /**
   * Finish: every blob in place and verified, the fixed parts read back and compared, data
   * synced, then renamed to OUT (atomically replacing any file there) and the journal removed.
   */
  async commit(): Promise<void> {
    const missing = this.missing();
    if (missing.length) {
      throw new WriterStateError(`${missing.length} blobs of ${this.description} are not written yet`, {
        missing: missing.map((e) => e.descriptor!.digest),
      });
    }
    this.stopTimer();
    await this.checkpointing;
    await this.verifyFixedParts();
    trace('writer: fixed parts read back');
    await this.syncer.flush();
    trace(`writer: fdatasync (after ${this.syncer.background} in the background)`);
    this.closed = true;
    process.off('exit', this.onExit);
    await this.fh.close();
    await rename(this.partialPath, this.output);
    await syncDir(dirname(this.output));
    await removeJournal(this.journalPath);
    await releaseLock(this.output, this.lockPath);
  }

  private async verifyFixedParts(): Promise<void> {
    const check = async (expected: Buffer, position: number, what: string): Promise<void> => {
      const actual = Buffer.alloc(expected.byteLength);
      await this.fh.read(actual, 0, actual.byteLength, position);
      if (!actual.equals(expected)) throw new WriterStateError(`${what} of ${this.description} reads back wrong`, { position });
    };
    for (const e of this.plan.entries) {
      const header = layoutHeader(this.plan.layout, e);
      await check(e.data ? Buffer.concat([header, e.data]) : header, e.headerOffset, `entry ${e.name}`);
      if (e.file) {
        const read = async (buf: Buffer, length: number, position: number): Promise<number> => (await this.fh.read(buf, 0, length, position)).bytesRead;
        const actual = await digestOfRange(read, e.dataOffset, e.size, digestAlgorithm(e.file.digest));
        if (actual !== e.file.digest) throw new WriterStateError(`entry ${e.name} of ${this.description} reads back wrong`, { position: e.dataOffset });
      }
    }
    await check(Buffer.alloc(TAR_END_SIZE), this.plan.layout.endOffset, 'the end of the archive');
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stop without finishing: progress is checkpointed, OUT.partial stays for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimer();
    await this.checkpointing?.catch(() => {});
    await this.checkpoint().catch(() => {});
    this.closed = true;
    process.off('exit', this.onExit);
    await this.fh.close().catch(() => {});
    await releaseLock(this.output, this.lockPath);
  }

  /** Give up on this output entirely: close and remove the partial file and its journal. */
  async discard(): Promise<void> {
    await this.close();
    await unlink(this.partialPath).catch(() => {});
    await removeJournal(this.journalPath);
  }
}

async function checkSpace(dir: string, needed: number, freed: number): Promise<void> {
  try {
    const s = await statfs(dir);
    const available = s.bavail * s.bsize + freed;
    if (available < needed) throw new NotEnoughSpaceError(dir, needed, available);
  } catch (e) {
    if (e instanceof NotEnoughSpaceError) throw e;
    // statfs is advisory; the writes themselves report ENOSPC
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close().catch(() => {});
}

/**
 * Hand each chunk of `stream` to `onChunk` in order, waiting for it (backpressure: the stream is
 * paused meanwhile). Unlike `for await`, which reads everything buffered as one concatenated
 * Buffer, each chunk arrives as it was produced, uncopied.
 */
function consume(stream: Readable, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (stream.destroyed || stream.readableEnded) {
      if (stream.readableEnded && !stream.errored) resolve();
      else reject(stream.errored ?? prematureClose());
      return;
    }
    let busy: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      stream.off('data', onData);
      stream.destroy();
      // Only once the chunk in hand is done: the caller then owns every write to the file.
      void busy.then(() => reject(err), () => reject(err));
    };
    const onData = (c: Buffer | string): void => {
      const chunk = typeof c === 'string' ? Buffer.from(c) : c;
      stream.pause();
      busy = busy.then(() => onChunk(chunk)).then(
        () => {
          if (!failed) stream.resume();
        },
        fail,
      );
    };
    stream.on('data', onData);
    stream.once('error', fail);
    stream.once('end', () => {
      void busy.then(() => {
        if (!failed) resolve();
      });
    });
    stream.once('close', () => {
      // destroyed without 'end' or 'error': the content was cut short
      if (!stream.readableEnded) fail(stream.errored ?? prematureClose());
    });
    stream.resume(); // a stream paused by whoever watched it first (copyBlob's byte count) starts here
  });
}

/** What `for await` reports for a stream destroyed before its end (retried like a dropped connection). */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
