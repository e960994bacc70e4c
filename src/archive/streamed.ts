import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { emptyTarIndex, indexTarBytes, type TarEntry, type TarIndex } from '../bundle/tar-index.js';
import type { EntryBytes } from '../bundle/reader.js';
import { Digester, type DigestAlgorithm } from '../oci/digest.js';
import { StreamPassedError, ArchiveInputError } from './errors.js';
import { StreamTarBytes, type EntrySink } from './stream-bytes.js';

/**
 * An archive read once from a stream (stdin, or a file through a decompressor), with no full
 * extraction to disk. What passes is hashed (for verify), kept in memory when small (layout files,
 * manifests, configs), handed straight to whoever is waiting for it (load's uploads and imports),
 * and otherwise held in a spool directory only if something will still ask for it: the layers of a
 * docker-archive, whose index comes last, or content two targets both read.
 *
 * 'scan' reads to the end at once (verify, inspect). 'load' reads as its consumers ask: first the
 * head (until the opener says the image graph is known), then on demand.
 */

export interface StreamedOptions {
  mode: 'scan' | 'load';
  /** Keep every entry after it passed (load to more than one target reads each blob twice). */
  retain?: boolean;
  /** Where the spool directory is made (default the system's temp directory). */
  tmpDir?: string;
  maxEntries?: number;
  mapError?(e: unknown): unknown;
  onProgress?(bytes: number): void;
  onNotice?(message: string): void;
}

/** Entries this small are kept in memory whatever they are. */
const SMALL = 64 * 1024;
/** JSON entries up to this size are kept in memory (manifests, configs, index.json). */
const JSON_MAX = 4 * 1024 * 1024;
/** Bytes of each entry's start kept (a compression's magic number). */
const HEAD = 16;
/** In-memory bytes at most; beyond, entries go to the spool. */
const MEMORY_CAP = 256 * 1024 * 1024;

interface Waiter {
  out: PassThrough;
  offset: number;
  length: number;
}

export class StreamedArchive implements EntryBytes {
  readonly file = undefined;
  readonly tar: TarIndex;
  private readonly memory = new Map<string, Buffer>();
  private memoryBytes = 0;
  private readonly spooled = new Map<string, string>();
  private spoolDir: string | undefined;
  spooledBytes = 0;
  private readonly hashes = new Map<string, Map<string, { digest: string; bytes: number }>>();
  /** Every entry's first bytes, kept whatever became of the rest: enough to tell a layer's compression. */
  private readonly heads = new Map<string, Buffer>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Entries whose data has started to pass. */
  private readonly started = new Set<string>();
  private finished = false;
  private failure: unknown;
  private readonly run: Promise<void>;
  private wake: (() => void) | undefined;
  private head: { until: () => boolean; resolve: () => void } | undefined;
  private headDone: boolean;
  private draining = false;
  private closed = false;
  /** Once the graph is known: whether an entry that passes unasked will still be read. */
  needed: ((name: string) => boolean) | undefined;

  constructor(readonly path: string, private readonly source: Readable, private readonly opts: StreamedOptions) {
    this.tar = emptyTarIndex(path);
    this.headDone = opts.mode === 'scan';
    const bytes = new StreamTarBytes(this.gated(source), (e) => this.sink(e), opts.mapError, opts.onProgress);
    this.run = indexTarBytes(bytes, path, { into: this.tar, ...(opts.maxEntries ? { maxEntries: opts.maxEntries } : {}) }).then(
      () => this.end(undefined),
      (e: unknown) => this.end(e),
    );
  }

  /** The source, read only while someone needs what comes next. */
  private async *gated(source: Readable): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      yield chunk as Buffer;
      while (!this.flowing()) await new Promise<void>((r) => (this.wake = r));
    }
  }

  private flowing(): boolean {
    return this.opts.mode === 'scan' || !this.headDone || this.draining || this.waiters.size > 0 || this.closed;
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private end(e: unknown): void {
    this.finished = true;
    if (e !== undefined) this.failure = e;
    for (const [name, list] of this.waiters) {
      for (const w of list) w.out.destroy(e instanceof Error ? e : new ArchiveInputError('ERR_ARCHIVE_MISSING', `${this.path}: ${name} is not in the archive`, 'the archive is incomplete: copy or save it again', { path: this.path, entry: name }));
    }
    this.waiters.clear();
    this.head?.resolve();
    this.head = undefined;
  }

  /** Read until `until()` holds after an entry (or the archive ends). Throws what the reading threw. */
  async readHead(until: () => boolean): Promise<void> {
    if (!this.finished && !until()) {
      await new Promise<void>((resolve) => {
        this.head = { until, resolve };
      });
    }
    this.headDone = true;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Read to the end (scan mode: everything; load mode: what nobody asked for is dropped). */
  async finish(): Promise<void> {
    this.draining = true;
    this.kick();
    await this.run;
    if (this.failure !== undefined) throw this.failure;
  }

  isFinished(): boolean {
    return this.finished;
  }

  private hashAll(): boolean {
    return this.opts.mode === 'scan' || !this.headDone;
  }

  private sink(entry: TarEntry): EntrySink | undefined {
    if (entry.type !== 'file') return undefined;
    const name = entry.name;
    this.started.add(name);
    const waiting = this.waiters.get(name) ?? [];
    this.waiters.delete(name);
    const algorithms: DigestAlgorithm[] = this.hashAll() ? (name.startsWith('blobs/sha512/') ? ['sha512'] : ['sha256']) : [];
    const digesters = algorithms.map((a) => new Digester(a));
    let store: 'memory' | 'spool' | 'drop' | undefined;
    const parts: Buffer[] = [];
    let file: WriteStream | undefined;
    let pos = 0;
    const decide = async (first: Buffer | undefined): Promise<void> => {
      const looksJson = first !== undefined && (first[0] === 0x7b || first[0] === 0x5b);
      const fits = this.memoryBytes + entry.size <= MEMORY_CAP;
      if (fits && (entry.size <= SMALL || (entry.size <= JSON_MAX && looksJson))) store = 'memory';
      else if (this.opts.mode === 'scan') store = 'drop';
      else if (!this.opts.retain && (waiting.length > 0 || (this.needed && !this.needed(name)))) store = 'drop';
      else {
        store = 'spool';
        if (!this.spoolDir) {
          this.spoolDir = await mkdtemp(join(this.opts.tmpDir ?? tmpdir(), 'airgap-spool-'));
          this.opts.onNotice?.(`reading ${this.path} as a stream: content needed later than the archive holds it (${this.opts.retain ? 'every target reads it' : 'its images are named after their layers'}) is held in ${this.spoolDir} until then`);
        }
        const path = join(this.spoolDir, String(this.spooled.size));
        file = createWriteStream(path);
        this.spooled.set(name, path);
      }
      if (store === 'memory') this.memoryBytes += entry.size;
    };
    return {
      write: async (chunk: Buffer) => {
        if (store === undefined) await decide(chunk);
        if (pos < HEAD) {
          const have = this.heads.get(name);
          const piece = Buffer.from(chunk.subarray(0, HEAD - pos));
          this.heads.set(name, have ? Buffer.concat([have, piece]) : piece);
        }
        for (const d of digesters) d.update(chunk);
        for (const w of waiting) {
          const from = Math.max(0, w.offset - pos);
          const to = Math.min(chunk.length, w.offset + w.length - pos);
          if (to > from && !w.out.destroyed && !w.out.write(chunk.subarray(from, to))) {
            await new Promise<void>((r) => {
              const done = (): void => {
                w.out.off('drain', done);
                w.out.off('close', done);
                r();
              };
              w.out.on('drain', done);
              w.out.on('close', done);
            });
          }
        }
        if (store === 'memory') parts.push(Buffer.from(chunk));
        else if (store === 'spool' && file && !file.write(chunk)) await new Promise<void>((r) => file!.once('drain', r));
        pos += chunk.length;
      },
      end: async (present: number) => {
        if (store === undefined) await decide(undefined);
        for (const w of waiting) w.out.end();
        if (store === 'memory') this.memory.set(name, Buffer.concat(parts));
        if (file) {
          const f = file;
          await new Promise<void>((resolve, reject) => f.end((e?: Error | null) => (e ? reject(e) : resolve())));
          this.spooledBytes += present;
        }
        if (digesters.length) this.hashes.set(name, new Map(digesters.map((d) => [d.algorithm, { digest: d.digest(), bytes: d.size }])));
        if (this.head && this.head.until()) {
          const h = this.head;
          this.head = undefined;
          h.resolve();
        }
      },
    };
  }

  /** An entry held in memory (layout files, manifests, configs, small blobs). */
  held(name: string): Buffer | undefined {
    return this.memory.get(name);
  }

  async read(name: string, e: TarEntry | undefined): Promise<Buffer> {
    const m = this.memory.get(name);
    if (m) return m;
    const parts: Buffer[] = [];
    for await (const c of this.stream(name, e, 0, e?.size ?? Number.MAX_SAFE_INTEGER, {})) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  stream(name: string, _e: TarEntry | undefined, offset: number, length: number, opts: { signal?: AbortSignal }): Readable {
    const m = this.memory.get(name);
    if (m) return Readable.from([m.subarray(offset, offset + length)]);
    const s = this.spooled.get(name);
    if (s) {
      if (length <= 0) return Readable.from([]);
      return createReadStream(s, { start: offset, end: offset + length - 1, ...(opts.signal ? { signal: opts.signal } : {}) });
    }
    const head = this.heads.get(name);
    if (head && offset + length <= head.length && !this.waiters.has(name)) return Readable.from([head.subarray(offset, offset + length)]);
    const out = new PassThrough();
    if (this.started.has(name) || this.finished) {
      process.nextTick(() => out.destroy(this.failure instanceof Error ? this.failure : new StreamPassedError(this.path, name)));
      return out;
    }
    const list = this.waiters.get(name) ?? [];
    list.push({ out, offset, length });
    this.waiters.set(name, list);
    opts.signal?.addEventListener('abort', () => out.destroy(opts.signal!.reason as Error), { once: true });
    this.kick();
    return out;
  }

  pending(): boolean {
    return !this.finished;
  }

  passHash(name: string, algorithm: string): { digest: string; bytes: number } | undefined {
    return this.hashes.get(name)?.get(algorithm);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.source.destroy();
    this.kick();
    await this.run.catch(() => {});
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}
