import { createHash, type Hash } from 'node:crypto';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { Digest, DigestAlgorithm } from '../oci/digest.js';
import { AirgapError } from '../errors.js';

/**
 * SHA-256 off the main thread. A download's main thread spends a third of its time hashing; a
 * hashing thread takes that work in parallel, the bytes reaching it by reference.
 *
 * The contract for callers: a chunk given to update() whose `.buffer` is a SharedArrayBuffer is
 * hashed IN PLACE, later, on another thread — its bytes must stay unchanged until the digester
 * no longer counts them as `pending` (`await drained(0)`, or digest() settled, or abort()). The HTTP
 * client's socket slabs qualify: a slab is filled once and replaced, never rewritten. Any other
 * chunk is copied during update() (into a staging segment, itself a SharedArrayBuffer), so its
 * buffer may be reused as soon as update() returns. A copy costs a tenth to a twentieth of hashing
 * the bytes (memcpy against SHA-256), so even copied bytes are cheaper handed over than hashed here.
 */

/** Consecutive contiguous SAB updates are sent as one message of up to this many bytes. */
const MAX_RUN = 1024 * 1024;
/** Copies of non-SAB chunks go into segments of this size, one being filled per digester. */
const SEGMENT_BYTES = MAX_RUN;
/** The thread acknowledges hashed messages at least every this many bytes (else once per turn). */
const ACK_BYTES = 1024 * 1024;
/**
 * Per thread, staging segments kept for reuse once no digester is active (while digesters are
 * active, every hashed segment is kept: a fresh 1 MiB SharedArrayBuffer costs ~0.5 ms of page faults
 * and GC, seven times the copy into it). The in-use peak is bounded by the callers' drained().
 */
const DEFAULT_STAGING_BYTES = 8 * 1024 * 1024;
/**
 * A digester whose whole content stays under this is hashed on the caller's thread at digest():
 * no message, no thread start, and no wait behind megabytes of other blobs queued on the thread
 * (a config blob). Larger content goes to the thread from the first byte: a hash state cannot
 * move between threads, so a digester's bytes are all hashed in one place.
 */
const DEFAULT_INLINE_BYTES = 64 * 1024;

/** A Buffer over a new SharedArrayBuffer: what a producer fills for by-reference hashing. */
export function sharedBuffer(bytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(bytes));
}

/** The hashing thread failed (crashed, ran out of memory) or the pool was closed under a digest. */
export class HashThreadError extends AirgapError {
  constructor(message: string, cause?: unknown) {
    super('ERR_HASH_THREAD', 'internal', message, {
      hint: 'this is a bug in airgap or the process ran out of memory; run the command again and report it if it repeats',
      cause,
    });
  }
}

type ToThread =
  | { op: 'data'; id: number; alg: DigestAlgorithm; buf: SharedArrayBuffer; off: number; len: number }
  | { op: 'end'; id: number; alg: DigestAlgorithm }
  | { op: 'abort'; id: number };

type FromThread =
  /** the next `n` data messages (in posting order) are hashed */
  | { op: 'hashed'; n: number }
  | { op: 'digest'; id: number; hex: string }
  | { op: 'error'; id: number; message: string };

/**
 * The hashing thread. It runs from its source text (a Worker with `eval`), so the tsc output, the
 * bundle and the single executable all carry it inside the one file: it must use nothing but its
 * parameters and JavaScript's globals.
 */
function hashThread(port: MessagePort, newHash: (algorithm: string) => Hash, ackBytes: number): void {
  const hashes = new Map<number, Hash>();
  const failed = new Map<number, string>();
  let unacked = 0;
  let unackedBytes = 0;
  let scheduled = false;
  const ack = (): void => {
    scheduled = false;
    if (unacked === 0) return;
    port.postMessage({ op: 'hashed', n: unacked });
    unacked = 0;
    unackedBytes = 0;
  };
  port.on('message', (m: ToThread) => {
    if (m.op === 'data') {
      if (!failed.has(m.id)) {
        try {
          let h = hashes.get(m.id);
          if (h === undefined) {
            h = newHash(m.alg);
            hashes.set(m.id, h);
          }
          h.update(new Uint8Array(m.buf, m.off, m.len));
        } catch (e) {
          hashes.delete(m.id);
          failed.set(m.id, String((e as Error)?.message ?? e));
          port.postMessage({ op: 'error', id: m.id, message: failed.get(m.id) });
        }
      }
      unacked++;
      unackedBytes += m.len;
      // Acknowledge per megabyte while busy (backpressure and staging reuse need progress), else
      // once per turn of the loop: one message back for a batch of small ones.
      if (unackedBytes >= ackBytes) ack();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(ack);
      }
    } else if (m.op === 'end') {
      ack();
      const error = failed.get(m.id);
      failed.delete(m.id);
      if (error !== undefined) {
        port.postMessage({ op: 'error', id: m.id, message: error });
        return;
      }
      const h = hashes.get(m.id) ?? newHash(m.alg);
      hashes.delete(m.id);
      port.postMessage({ op: 'digest', id: m.id, hex: h.digest('hex') });
    } else {
      hashes.delete(m.id);
      failed.delete(m.id);
    }
  });
}

/**
 * getBuiltinModule, not require: an eval'd worker inherits the parent's flags, and under
 * `--input-type=module` its source is an ES module without `require`.
 */
const THREAD_SOURCE = `"use strict";
(${hashThread.toString()})(process.getBuiltinModule("node:worker_threads").parentPort, process.getBuiltinModule("node:crypto").createHash, ${ACK_BYTES});
`;

/**
 * Copy `src` into the shared `dst` at `at`. Not TypedArray#set (nor Buffer#copy, which uses it): into
 * a SharedArrayBuffer V8 copies with relaxed atomics, byte by byte unless source and destination
 * are equally aligned — 500 µs per MiB, as slow as hashing. Buffer#fill with a buffer value is
 * Node's plain memcpy (~30 µs per MiB); its native call costs more than set() for a few bytes.
 */
function copyInto(dst: Buffer, at: number, src: Uint8Array): void {
  if (src.byteLength >= 256) dst.fill(src, at, at + src.byteLength);
  else dst.set(src, at);
}

/** A SharedArrayBuffer that copies are staged in; back to its thread's free list when unreferenced. */
interface Segment {
  readonly buf: Buffer;
  /** filled up to here by its digester */
  used: number;
  /** the digester filling it, plus each posted message in it not yet hashed */
  refs: number;
}

/** One data message posted to a thread and not yet acknowledged. */
interface Sent {
  d: OffThreadDigester;
  bytes: number;
  seg: Segment | undefined;
}

class HashThread {
  readonly worker: Worker;
  readonly digesters = new Map<number, OffThreadDigester>();
  failure: HashThreadError | undefined;
  /** staging segments taken and not yet back (a leak check for tests) */
  stagingInUse = 0;
  private readonly free: Segment[] = [];
  /** posted data messages in order: the thread acknowledges them in that order */
  private readonly sent: Sent[] = [];
  private sentHead = 0;
  private waiters = 0;
  private closing = false;

  constructor(private readonly keepSegments: number, private readonly onDead: (t: HashThread) => void) {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, name: 'airgap-hash' });
    // Idle threads never keep the process alive; a caller awaiting a result does (see hold()).
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => this.onMessage(m));
    this.worker.on('error', (e) => this.die(new HashThreadError(`the hashing thread failed: ${e.message}`, e)));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.die(new HashThreadError(`the hashing thread stopped unexpectedly (exit code ${code})`));
    });
  }

  takeSegment(): Segment {
    const s = this.free.pop() ?? { buf: sharedBuffer(SEGMENT_BYTES), used: 0, refs: 0 };
    s.used = 0;
    s.refs = 1;
    this.stagingInUse++;
    return s;
  }

  dropSegment(s: Segment): void {
    if (--s.refs > 0) return;
    this.stagingInUse--;
    if (this.digesters.size > 0 || this.free.length < this.keepSegments) this.free.push(s);
  }

  /** A digester is done with this thread. */
  leave(id: number): void {
    this.digesters.delete(id);
    if (this.digesters.size === 0 && this.free.length > this.keepSegments) this.free.length = this.keepSegments;
  }

  post(m: ToThread, sent?: Sent): void {
    if (sent) {
      this.sent.push(sent);
      if (sent.seg) sent.seg.refs++;
    }
    this.worker.postMessage(m);
  }

  /** Someone awaits this thread: it keeps the process alive until release(). */
  hold(): void {
    if (this.waiters++ === 0) this.worker.ref();
  }

  release(): void {
    if (--this.waiters === 0) this.worker.unref();
  }

  private onMessage(m: FromThread): void {
    if (m.op === 'hashed') {
      for (let i = 0; i < m.n; i++) {
        const s = this.sent[this.sentHead++]!;
        if (s.seg) this.dropSegment(s.seg);
        s.d.hashed(s.bytes);
      }
      if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) {
        this.sent.splice(0, this.sentHead);
        this.sentHead = 0;
      }
    } else if (m.op === 'digest') {
      this.digesters.get(m.id)?.finished(m.hex);
    } else {
      this.digesters.get(m.id)?.fail(new HashThreadError(`the hashing thread could not hash: ${m.message}`));
      this.post({ op: 'abort', id: m.id });
    }
  }

  private die(e: HashThreadError): void {
    if (this.failure) return;
    this.failure = e;
    this.onDead(this);
    for (const d of [...this.digesters.values()]) d.fail(e);
    this.digesters.clear();
    void this.worker.terminate();
  }

  async close(): Promise<void> {
    if (this.failure) return;
    this.closing = true;
    this.die(new HashThreadError('the hash pool was closed before this digest finished'));
    await this.worker.terminate();
  }
}

export interface HashPoolOptions {
  /** hashing threads (default 1); each digester stays on one */
  threads?: number;
  /** content up to this size is hashed on the caller's thread at digest() (default 64 KiB; 0: never) */
  inlineBytes?: number;
  /** per thread, staging memory (copies of non-SAB chunks) kept for reuse once hashed (default 8 MiB) */
  stagingBytes?: number;
}

/** Hashing threads shared by many concurrent digesters. */
export class HashPool {
  private readonly maxThreads: number;
  readonly inlineBytes: number;
  private readonly keepSegments: number;
  private readonly threads: HashThread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: HashPoolOptions = {}) {
    this.maxThreads = Math.max(1, Math.floor(opts.threads ?? 1));
    this.inlineBytes = Math.max(0, opts.inlineBytes ?? DEFAULT_INLINE_BYTES);
    this.keepSegments = Math.floor(Math.max(0, opts.stagingBytes ?? DEFAULT_STAGING_BYTES) / SEGMENT_BYTES);
  }

  /** Start the threads now (a thread takes tens of milliseconds to boot); otherwise on first need. */
  start(): void {
    this.checkOpen();
    while (this.threads.length < this.maxThreads) this.spawn();
  }

  digester(algorithm: DigestAlgorithm): OffThreadDigester {
    this.checkOpen();
    return new OffThreadDigester(this, this.nextId++, algorithm);
  }

  /** Terminate the threads; digests still running reject with HashThreadError. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.close()));
  }

  /** @internal the thread for a digester's first message: a new one while below the limit, else the least busy */
  pick(): HashThread {
    this.checkOpen();
    if (this.threads.length < this.maxThreads) return this.spawn();
    let best = this.threads[0]!;
    for (const t of this.threads) if (t.digesters.size < best.digesters.size) best = t;
    return best;
  }

  private spawn(): HashThread {
    const t = new HashThread(this.keepSegments, (dead) => {
      const i = this.threads.indexOf(dead);
      if (i >= 0) this.threads.splice(i, 1);
    });
    this.threads.push(t);
    return t;
  }

  private checkOpen(): void {
    if (this.closed) throw new HashThreadError('the hash pool is closed');
  }
}

/** Contiguous bytes given and not yet posted. */
interface Run {
  buf: SharedArrayBuffer;
  off: number;
  len: number;
  /** the staging segment holding this copy; undefined: the caller's memory */
  seg: Segment | undefined;
}

type State = 'open' | 'finishing' | 'done' | 'aborted';

function abortError(): Error {
  return Object.assign(new Error('the digest was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/**
 * One stream of bytes hashed on a pool thread, in update() order. Create with HashPool.digester().
 * See the module comment for what a SharedArrayBuffer-backed chunk promises.
 */
export class OffThreadDigester {
  private given = 0;
  private done = 0;
  private state: State = 'open';
  private thread: HashThread | undefined;
  /** not yet on a thread: chunks kept (SAB by reference, others copied) while under inlineBytes */
  private held: Uint8Array[] | undefined = [];
  private run: Run | undefined;
  /** the staging segment this digester copies into */
  private seg: Segment | undefined;
  private failure: Error | undefined;
  private waiters: { max: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private result: { resolve: (d: Digest) => void; reject: (e: Error) => void } | undefined;

  /** @internal use HashPool.digester() */
  constructor(private readonly pool: HashPool, private readonly id: number, readonly algorithm: DigestAlgorithm) {}

  /** bytes given so far */
  get size(): number {
    return this.given;
  }

  /** bytes given but not yet hashed */
  get pending(): number {
    return this.state === 'aborted' || this.state === 'done' ? 0 : this.given - this.done;
  }

  /** Queue `chunk` for hashing; see the module comment for SharedArrayBuffer-backed chunks. */
  update(chunk: Uint8Array): void {
    if (this.state !== 'open') throw new Error(`update() on a digester that is ${this.state === 'finishing' ? 'finishing' : this.state}`);
    if (this.failure) throw this.failure;
    const n = chunk.byteLength;
    if (n === 0) return;
    this.given += n;
    if (this.held) {
      if (this.given <= this.pool.inlineBytes) {
        this.held.push(chunk.buffer instanceof SharedArrayBuffer ? chunk : Uint8Array.prototype.slice.call(chunk));
        return;
      }
      this.ship();
    }
    this.send(chunk);
  }

  /** Resolves once at most `maxPending` bytes wait for the thread: backpressure for a fast producer. */
  drained(maxPending: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending <= maxPending) return Promise.resolve();
    try {
      if (this.held) this.ship();
      this.flush();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (this.failure) return Promise.reject(this.failure);
    const thread = this.thread!;
    thread.hold();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({
        max: maxPending,
        resolve: () => {
          thread.release();
          resolve();
        },
        reject: (e) => {
          thread.release();
          reject(e);
        },
      });
    });
  }

  /** The digest of everything given ('sha256:<hex>'); the digester is finished afterwards. */
  digest(): Promise<Digest> {
    if (this.state !== 'open') return Promise.reject(new Error(`digest() on a digester that is ${this.state}`));
    this.state = 'finishing';
    if (this.failure) return Promise.reject(this.failure);
    if (this.held) {
      const h = createHash(this.algorithm);
      for (const c of this.held) h.update(c);
      this.held = undefined;
      this.state = 'done';
      return Promise.resolve(`${this.algorithm}:${h.digest('hex')}` as Digest);
    }
    this.flush();
    this.dropSegment();
    if (this.failure) return Promise.reject(this.failure);
    const thread = this.thread!;
    thread.hold();
    thread.post({ op: 'end', id: this.id, alg: this.algorithm });
    return new Promise<Digest>((resolve, reject) => {
      this.result = {
        resolve: (d) => {
          thread.release();
          resolve(d);
        },
        reject: (e) => {
          thread.release();
          reject(e);
        },
      };
    });
  }

  /** Drop the digester: its thread forgets it; a digest() or drained() still waiting rejects. */
  abort(): void {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.held = undefined;
    this.run = undefined; // never posted
    this.dropSegment();
    const t = this.thread;
    if (t && !t.failure) {
      t.post({ op: 'abort', id: this.id });
      t.leave(this.id);
    }
    this.settle(abortError());
  }

  /** @internal the thread hashed `bytes` more of this digester's bytes */
  hashed(bytes: number): void {
    this.done += bytes;
    if (this.waiters.length === 0) return;
    const pending = this.pending;
    const still = [];
    for (const w of this.waiters) {
      if (pending <= w.max) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** @internal the thread's answer to 'end' */
  finished(hex: string): void {
    this.state = 'done';
    this.thread?.leave(this.id);
    const r = this.result;
    this.result = undefined;
    r?.resolve(`${this.algorithm}:${hex}` as Digest);
  }

  /** @internal the thread failed or could not hash this digester's bytes */
  fail(e: Error): void {
    if (this.failure || this.state === 'done' || this.state === 'aborted') return;
    this.failure = e;
    this.run = undefined;
    this.dropSegment();
    this.thread?.leave(this.id);
    this.settle(e);
  }

  private settle(e: Error): void {
    const r = this.result;
    this.result = undefined;
    r?.reject(e);
    const ws = this.waiters;
    this.waiters = [];
    // An aborted digester has nothing left to wait for.
    for (const w of ws) if (this.state === 'aborted') w.resolve();
    else w.reject(e);
  }

  /** Leave the inline mode: everything held goes to a thread, in order. */
  private ship(): void {
    const held = this.held!;
    this.held = undefined;
    for (const c of held) this.send(c);
  }

  private bind(): HashThread {
    if (this.thread) return this.thread;
    const t = this.pool.pick();
    this.thread = t;
    t.digesters.set(this.id, this);
    return t;
  }

  private send(chunk: Uint8Array): void {
    const t = this.bind();
    const buf = chunk.buffer;
    if (!(buf instanceof SharedArrayBuffer)) {
      this.stage(t, chunk);
      return;
    }
    const r = this.run;
    if (r !== undefined && r.buf === buf && r.off + r.len === chunk.byteOffset) r.len += chunk.byteLength;
    else {
      this.flush();
      this.run = { buf, off: chunk.byteOffset, len: chunk.byteLength, seg: undefined };
    }
    if (this.run!.len >= MAX_RUN) this.flush();
  }

  /**
   * Copy a non-SAB chunk into this digester's staging segment, a fresh one when it is full. A
   * segment per digester keeps its copies contiguous (one message per segment) however many
   * digesters interleave, and it is reused once the thread hashed everything in it.
   */
  private stage(t: HashThread, chunk: Uint8Array): void {
    const n = chunk.byteLength;
    let from = 0;
    while (from < n) {
      let s = this.seg;
      if (s === undefined || s.used === SEGMENT_BYTES) {
        this.flush();
        this.dropSegment();
        s = this.seg = t.takeSegment();
      }
      const len = Math.min(n - from, SEGMENT_BYTES - s.used);
      copyInto(s.buf, s.used, len === n ? chunk : chunk.subarray(from, from + len));
      const r = this.run;
      // Only this digester writes its segment: a run in it always ends at s.used.
      if (r !== undefined && r.seg === s) r.len += len;
      else {
        this.flush();
        this.run = { buf: s.buf.buffer as SharedArrayBuffer, off: s.used, len, seg: s };
      }
      s.used += len;
      from += len;
      if (this.run!.len >= MAX_RUN) this.flush();
    }
  }

  /** Post the open run. */
  private flush(): void {
    const r = this.run;
    const t = this.thread;
    if (r === undefined || t === undefined) return;
    this.run = undefined;
    t.post({ op: 'data', id: this.id, alg: this.algorithm, buf: r.buf, off: r.off, len: r.len }, { d: this, bytes: r.len, seg: r.seg });
  }

  /** Give back the staging segment (after its run was posted, or dropped). */
  private dropSegment(): void {
    const s = this.seg;
    this.seg = undefined;
    if (s !== undefined) this.thread?.dropSegment(s);
  }
}
