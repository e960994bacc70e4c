import { connect as netConnect, isIP, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { cutChunk, releaseChunk, retireSlab, SLAB_BYTES, takeSlab, type Slab } from '../../content/slab-pool.js';
import { ChunkedDecoder } from './chunked.js';
import { abortError, HttpConnectionError } from './errors.js';
import { bodyFraming, keepsAlive, parseResponseHead, type BodyFraming, type ResponseHeaders } from './response-head.js';

export interface ConnectionTimeouts {
  connectMs: number;
  headersMs: number;
  /** the body may stall (no bytes while we are reading) at most this long */
  bodyIdleMs: number;
}

export interface TlsSettings {
  ca?: string[];
  rejectUnauthorized: boolean;
}

export interface H1Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /**
   * A Buffer (sent with its length) or a stream, which needs a content-length header and is sent
   * once: it cannot be replayed on another connection.
   */
  body?: Buffer | Readable | undefined;
  signal?: AbortSignal | undefined;
}

export interface H1Response {
  status: number;
  headers: ResponseHeaders;
  body: Readable;
}

/**
 * Socket reads land in slices of a 1 MiB slab handed to the kernel (net's `onread`): no buffer
 * allocated per read and reads as large as the socket has, which is what makes this client cost a
 * third of undici's CPU per downloaded byte. A slab is replaced once less than MIN_READ is left and
 * reused only once every chunk cut from it was given back (src/content/slab-pool.ts). (Not
 * SharedArrayBuffers, which a hashing thread could read in place: V8 does not count their memory
 * when deciding to collect, and RSS grew to 400 MiB; the hash pool copies instead.)
 */
const MIN_READ = 64 * 1024;
/** a body buffers this many reads ahead of its reader before the socket is paused */
const BODY_HIGH_WATER_CHUNKS = 4;

type Phase = 'connecting' | 'idle' | 'head' | 'body' | 'dead';

function formatMs(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

/** Header names and values go on the wire as they are: nothing that could end a line. */
function checkHeader(name: string, value: string): void {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(value)) {
    throw new TypeError(`invalid HTTP header ${JSON.stringify(name)}`);
  }
}

/** Throws on a request that could not go on the wire; the agent checks before taking a connection. */
export function checkRequest(req: H1Request): void {
  for (const [k, v] of Object.entries(req.headers)) checkHeader(k, v);
  if (req.body instanceof Readable && !Object.keys(req.headers).some((k) => k.toLowerCase() === 'content-length')) {
    throw new TypeError('a streamed request body needs a content-length header');
  }
}

class Body extends Readable {
  constructor(private readonly conn: Connection) {
    // Object mode: each read is handed on as it came (a byte-mode read() of everything buffered
    // would concatenate, a copy per chunk, and the copies' slabs could never be reused).
    super({ objectMode: true, highWaterMark: BODY_HIGH_WATER_CHUNKS });
  }

  override _read(): void {
    this.conn.resumeReading();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.conn.bodyDestroyed(this);
    cb(err);
  }
}

/**
 * One HTTP/1.1 connection (plain or TLS) carrying one request at a time. The pool hands it out,
 * `send` writes a GET or HEAD and resolves with the response head; the body streams from the
 * socket with backpressure, and the connection returns to its pool once the body ended cleanly
 * on a keep-alive response, or is destroyed otherwise.
 */
export class Connection {
  readonly socket: Socket;
  readonly ready: Promise<void>;
  /** has carried a response before: a failure before any byte of the next may be a stale socket */
  reused = false;
  /** bytes received for the current request */
  received = 0;
  /** when it last went back to its pool (performance.now()) */
  idleSince = 0;

  private phase: Phase = 'connecting';
  private slab: Slab = takeSlab();
  private slabUsed = 0;
  private given = 0;
  /**
   * Our onread callback returned false (the body's reader is behind): the socket stopped reading
   * until the reader asks for more. Tracked here because that stop is not the stream's pause()
   * (isPaused() stays false), and TLS may still hand over records it had already decrypted, so the
   * body can end while the socket is stopped: it must read again before the connection serves
   * another request. While stopped, the body is waiting for us, not for the server (no stall).
   */
  private stopped = false;

  private method = 'GET';
  private headParts: Buffer[] = [];
  private headTimer: NodeJS.Timeout | undefined;
  private resolveHead: ((r: H1Response) => void) | undefined;
  private rejectHead: ((e: Error) => void) | undefined;

  private body: Body | undefined;
  private framing: BodyFraming = { kind: 'none' };
  private remaining = 0;
  private chunked: ChunkedDecoder | undefined;
  private reusable = false;
  private lastActivity = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  /** a streamed request body is still being written */
  private sending = false;
  /** bumped when a response ends or the connection dies: a pump from an earlier request stops */
  private generation = 0;
  private readonly onAbort = (): void => this.fail(abortError(this.signal!));

  constructor(
    url: URL,
    tls: TlsSettings | undefined,
    private readonly timeouts: ConnectionTimeouts,
    /** called once when the body ended cleanly (true: reusable) or the connection died (false) */
    private readonly done: (c: Connection, reusable: boolean) => void,
  ) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const onread = { buffer: (): Buffer => this.nextBuffer(), callback: (n: number, buf: Buffer): boolean => this.onRead(n, buf) };
    // tls.connect honours onread as net.connect does (Node documents it); its types omit it.
    const tlsOptions: TlsConnectionOptions & { onread: typeof onread } = { host, port, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'], ...tls, onread };
    this.socket = tls ? tlsConnect(tlsOptions) : netConnect({ host, port, onread });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.destroy(new HttpConnectionError('AIRGAP_HTTP_CONNECT_TIMEOUT', `no connection to ${url.host} within ${this.timeouts.connectMs} ms`));
      }, this.timeouts.connectMs);
      this.socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        this.socket.setNoDelay(true);
        this.phase = 'idle';
        resolve();
      });
      this.rejectHead = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.onEnd());
  }

  get alive(): boolean {
    return this.phase === 'idle' && !this.socket.destroyed;
  }

  send(req: H1Request): Promise<H1Response> {
    if (this.phase !== 'idle') throw new Error(`connection is ${this.phase}, not idle`);
    const { url, method, body } = req;
    const headers = { ...req.headers };
    if (Buffer.isBuffer(body)) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length') delete headers[k];
      headers['content-length'] = String(body.byteLength);
    }
    let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    // Names and values were checked by checkRequest before a connection was taken.
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'host') head += `${k}: ${v}\r\n`;
    head += '\r\n';
    this.method = method;
    this.received = 0;
    this.headParts = [];
    this.phase = 'head';
    this.signal = req.signal;
    this.sending = false;
    return new Promise<H1Response>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
      if (req.signal?.aborted) {
        this.fail(abortError(req.signal));
        return;
      }
      req.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.socket.ref();
      if (body instanceof Readable) {
        this.socket.write(head, 'latin1');
        void this.pump(body, url);
        return;
      }
      this.socket.write(head, 'latin1');
      if (body?.byteLength) this.socket.write(body);
      this.startHeadTimer(url);
    });
  }

  /** The answer is awaited from when the request is fully sent: a long upload is not a slow server. */
  private startHeadTimer(url: URL): void {
    this.headTimer = setTimeout(() => {
      this.fail(new HttpConnectionError('AIRGAP_HTTP_HEADERS_TIMEOUT', `no response from ${url.host} within ${this.timeouts.headersMs} ms`));
    }, this.timeouts.headersMs);
  }

  /**
   * Stream a request body with backpressure. An error of the source (a digest check failing, a
   * read error) fails the request with that error; an answer arriving before the body is sent
   * (an early 4xx) stops the upload, and the connection is not reused after it.
   */
  private async pump(body: Readable, url: URL): Promise<void> {
    this.sending = true;
    const gen = this.generation;
    try {
      for await (const chunk of body) {
        if (this.generation !== gen || this.phase !== 'head') break;
        // Once the kernel has the bytes, a pooled read buffer may be reused (src/content/slab-pool.ts).
        if (!this.socket.write(chunk as Buffer, () => releaseChunk(chunk as Buffer))) await this.drained();
      }
    } catch (e) {
      if (this.generation === gen) this.fail(e as Error);
      return;
    } finally {
      this.sending = false;
      if (!body.readableEnded) body.destroy();
    }
    if (this.generation === gen && this.phase === 'head') this.startHeadTimer(url);
  }

  /** Resolves when the socket takes more, or the connection dies; a socket that stays full fails it. */
  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.fail(new HttpConnectionError('AIRGAP_HTTP_BODY_TIMEOUT', `the upload stalled: ${this.socket.remoteAddress ?? 'the server'} took no bytes for ${formatMs(this.timeouts.bodyIdleMs)}`));
        done();
      }, this.timeouts.bodyIdleMs);
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private nextBuffer(): Buffer {
    if (SLAB_BYTES - this.slabUsed < MIN_READ) {
      retireSlab(this.slab);
      this.slab = takeSlab();
      this.slabUsed = 0;
    }
    this.given = this.slabUsed;
    return this.slab.buf.subarray(this.slabUsed);
  }

  /** net's onread callback: false pauses the socket until the body's reader asks for more. */
  private onRead(n: number, buf: Buffer): boolean {
    this.slabUsed = this.given + n;
    const chunk = buf.subarray(0, n);
    this.received += n;
    try {
      if (this.phase === 'head') return this.onHeadBytes(chunk);
      if (this.phase === 'body') return this.onBodyBytes(chunk);
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
    // Bytes nobody asked for (idle or dead): the connection is out of step; drop it.
    this.fail(new HttpConnectionError('AIRGAP_HTTP_BAD_RESPONSE', 'the server sent data without a request'));
    return false;
  }

  private onHeadBytes(chunk: Buffer): boolean {
    let data = chunk;
    if (this.headParts.length) {
      this.headParts.push(chunk);
      data = Buffer.concat(this.headParts);
    }
    for (;;) {
      const head = parseResponseHead(data);
      if (!head) {
        if (!this.headParts.length) this.headParts.push(Buffer.from(data)); // the slab is reused: keep a copy
        else this.headParts = [data];
        return true;
      }
      data = data.subarray(head.size);
      if (head.status >= 100 && head.status < 200) {
        if (head.status === 101) throw new HttpConnectionError('AIRGAP_HTTP_BAD_RESPONSE', 'the server switched protocols (101) on a plain request');
        continue; // 100 Continue, 103 Early Hints: the real answer follows
      }
      this.headParts = [];
      clearTimeout(this.headTimer);
      this.framing = bodyFraming(this.method, head);
      // Answered before the whole request body went out: the server's view of the stream is unknown.
      this.reusable = keepsAlive(head, this.framing) && !this.sending;
      this.remaining = this.framing.kind === 'length' ? this.framing.length : 0;
      this.chunked = this.framing.kind === 'chunked' ? new ChunkedDecoder() : undefined;
      this.body = new Body(this);
      this.phase = 'body';
      this.lastActivity = performance.now();
      const resolve = this.resolveHead!;
      this.resolveHead = undefined;
      this.rejectHead = undefined;
      resolve({ status: head.status, headers: head.headers, body: this.body });
      if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.remaining === 0)) {
        this.finish(data.length === 0);
        return true;
      }
      this.armIdle();
      return data.length ? this.onBodyBytes(data) : true;
    }
  }

  private onBodyBytes(chunk: Buffer): boolean {
    const body = this.body!;
    this.lastActivity = performance.now();
    let more = true;
    switch (this.framing.kind) {
      case 'length': {
        const n = Math.min(this.remaining, chunk.length);
        more = this.push(body, chunk.subarray(0, n));
        this.remaining -= n;
        if (this.remaining === 0) {
          this.finish(n === chunk.length); // trailing bytes: the connection is out of step
          return true;
        }
        break;
      }
      case 'chunked': {
        const used = this.chunked!.feed(chunk, (b) => {
          more = this.push(body, b) && more;
        });
        if (this.chunked!.done) {
          this.finish(used === chunk.length);
          return true;
        }
        break;
      }
      default:
        more = this.push(body, chunk);
    }
    if (!more) this.stopped = true;
    return more;
  }

  /** A piece of the current read goes to the body's reader, counted against its slab until released. */
  private push(body: Body, piece: Buffer): boolean {
    if (piece.buffer !== this.slab.buf.buffer) return body.push(piece); // a copy (a head split across reads)
    const start = piece.byteOffset - this.slab.buf.byteOffset;
    return body.push(cutChunk(this.slab, start, start + piece.byteLength));
  }

  /** The body's reader wants more. */
  resumeReading(): void {
    this.lastActivity = performance.now();
    if (this.phase === 'body') this.restartReading();
  }

  private restartReading(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.socket.resume();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.checkIdle(), this.timeouts.bodyIdleMs);
  }

  private checkIdle(): void {
    if (this.phase !== 'body') return;
    const now = performance.now();
    // Stopped: waiting for our own reader, not for the server.
    if (this.stopped) this.lastActivity = now;
    const idle = now - this.lastActivity;
    if (idle >= this.timeouts.bodyIdleMs) {
      this.fail(new HttpConnectionError('AIRGAP_HTTP_BODY_TIMEOUT', `the response body stalled for ${formatMs(idle)}`));
      return;
    }
    this.idleTimer = setTimeout(() => this.checkIdle(), this.timeouts.bodyIdleMs - idle);
  }

  /** The response ended where its framing says. */
  private finish(reusable: boolean): void {
    this.generation++;
    clearTimeout(this.idleTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.signal = undefined;
    const body = this.body;
    this.body = undefined;
    if (reusable && this.reusable && !this.sending && !this.socket.destroyed) {
      this.phase = 'idle';
      this.reused = true;
      this.idleSince = performance.now();
      this.restartReading();
      this.socket.unref();
      this.done(this, true);
    } else {
      this.phase = 'dead';
      this.socket.destroy();
      this.done(this, false);
    }
    body?.push(null);
  }

  private onEnd(): void {
    if (this.phase === 'body' && this.framing.kind === 'close') {
      this.finish(false);
      return;
    }
    if (this.phase === 'dead') return;
    const what = this.phase === 'body'
      ? `the server closed the connection ${this.framing.kind === 'length' ? `with ${this.remaining} bytes of the body still to come` : 'before the body ended'}`
      : this.phase === 'head' ? 'the server closed the connection before answering' : 'the connection closed';
    this.fail(new HttpConnectionError('AIRGAP_HTTP_PREMATURE_CLOSE', what));
  }

  /** The body's reader let go. Mid-body, the rest cannot be skipped cheaply: drop the connection. */
  bodyDestroyed(body: Body): void {
    if (this.body === body) {
      this.body = undefined;
      this.fail(Object.assign(new Error('response body destroyed by its reader'), { code: 'ERR_STREAM_DESTROYED' }));
    }
  }

  private fail(e: Error): void {
    if (this.phase === 'dead') return;
    this.phase = 'dead';
    this.generation++;
    clearTimeout(this.headTimer);
    clearTimeout(this.idleTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.signal = undefined;
    this.socket.destroy();
    const reject = this.rejectHead;
    this.rejectHead = undefined;
    this.resolveHead = undefined;
    const body = this.body;
    this.body = undefined;
    this.done(this, false);
    if (reject) reject(e);
    else if (body && !body.destroyed) body.destroy(e);
  }

  destroy(): void {
    this.fail(new HttpConnectionError('AIRGAP_HTTP_PREMATURE_CLOSE', 'the client closed the connection'));
  }
}
