import { checkRequest, Connection, type ConnectionTimeouts, type H1Request, type H1Response, type TlsSettings } from './connection.js';
import { Readable } from 'node:stream';
import { abortError, HttpConnectionError } from './errors.js';

/** A streamed upload reuses a kept-alive connection only if it was idle at most this long. */
const STREAM_MAX_IDLE_MS = 2_000;

export interface H1AgentOptions extends ConnectionTimeouts {
  /** connections per origin (scheme, host, port) */
  connections: number;
  /** an idle connection is closed after this long */
  keepAliveMs: number;
  /** TLS settings for an https origin (CA list, whether to verify) */
  tls(url: URL): TlsSettings;
}

class OriginPool {
  private readonly idle: Connection[] = [];
  private readonly idleTimers = new Map<Connection, NodeJS.Timeout>();
  private readonly live = new Set<Connection>();
  private readonly waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly origin: URL,
    private readonly opts: H1AgentOptions,
  ) {}

  /** A connected, idle connection: a kept-alive one, a new one, or the next one released. */
  async acquire(signal: AbortSignal | undefined, fresh: boolean, maxIdleMs?: number): Promise<Connection> {
    for (;;) {
      signal?.throwIfAborted();
      // requests queued when the agent closed must not open new connections
      if (this.closed) throw new HttpConnectionError('AIRGAP_HTTP_PREMATURE_CLOSE', 'the HTTP client was closed');
      if (!fresh) {
        const c = this.idle.pop();
        if (c) {
          clearTimeout(this.idleTimers.get(c));
          this.idleTimers.delete(c);
          if (c.alive && (maxIdleMs === undefined || performance.now() - c.idleSince <= maxIdleMs)) return c;
          c.destroy();
          continue;
        }
      }
      if (this.live.size < this.opts.connections) return this.connect(signal);
      if (fresh && this.idle.length) {
        // at the limit with idle connections we may not reuse: make room
        this.idle.shift()!.destroy();
        continue;
      }
      await this.wait(signal);
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
  }

  private async connect(signal: AbortSignal | undefined): Promise<Connection> {
    const tls = this.origin.protocol === 'https:' ? this.opts.tls(this.origin) : undefined;
    const c = new Connection(this.origin, tls, this.opts, (conn, reusable) => this.onDone(conn, reusable));
    this.live.add(c);
    const onAbort = (): void => c.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await c.ready;
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return c;
  }

  private onDone(c: Connection, reusable: boolean): void {
    if (!this.live.has(c)) return;
    if (reusable) {
      this.idle.push(c);
      const t = setTimeout(() => c.destroy(), this.opts.keepAliveMs);
      t.unref();
      this.idleTimers.set(c, t);
    } else {
      this.live.delete(c);
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      clearTimeout(this.idleTimers.get(c));
      this.idleTimers.delete(c);
    }
    this.waiters.shift()?.();
  }

  close(): void {
    this.closed = true;
    for (const c of [...this.live]) c.destroy();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/**
 * Our HTTP/1.1 client; every registry request goes through it (every blob byte of pack and of
 * load): keep-alive connections per origin, TLS, timeouts for connecting, for the response head
 * and for a stalled body or upload, and one silent retry on a fresh connection when a kept-alive one
 * turns out to have been closed by the server (requests without a body or with a Buffer body;
 * a streamed body is sent once).
 */
export class H1Agent {
  private readonly pools = new Map<string, OriginPool>();
  private closed = false;

  constructor(private readonly opts: H1AgentOptions) {}

  async request(req: H1Request): Promise<H1Response> {
    if (this.closed) throw new HttpConnectionError('AIRGAP_HTTP_PREMATURE_CLOSE', 'the HTTP client was closed');
    // Before taking a connection: a refused request must not hold a pool slot.
    checkRequest(req);
    const key = req.url.origin;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new OriginPool(new URL(key), this.opts);
      this.pools.set(key, pool);
    }
    // A stream is sent once: it gets a connection unlikely to have been closed by the server
    // meanwhile (idle briefly), and no silent second try.
    const replayable = !(req.body instanceof Readable);
    for (let fresh = false; ; fresh = true) {
      const conn = await pool.acquire(req.signal, fresh, replayable ? undefined : STREAM_MAX_IDLE_MS);
      try {
        return await conn.send(req);
      } catch (e) {
        // A kept-alive socket the server had already closed fails before a single byte came back.
        // A server that does not answer in time is not a stale socket: waiting again would only
        // double the time to the error.
        const timedOut = (e as { code?: unknown }).code === 'AIRGAP_HTTP_HEADERS_TIMEOUT';
        if (replayable && !fresh && conn.reused && conn.received === 0 && !timedOut && !req.signal?.aborted) continue;
        throw e;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}
