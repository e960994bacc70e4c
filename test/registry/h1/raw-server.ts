/**
 * A TCP server on 127.0.0.1 that a test scripts byte by byte: what real registries (and Node's
 * own http server) cannot be made to do — close an idle keep-alive connection at the worst moment,
 * cut a body short, send garbage after it, stall, split a chunked body anywhere.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';

export class RawConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  closed = false;
  /** request heads received on this connection, in order */
  readonly requests: string[] = [];
  readonly whenClosed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('error', () => {});
    this.whenClosed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake?.();
        resolve();
      });
    });
  }

  /** The next request head (blank line excluded), or undefined once the client closed. */
  async request(): Promise<string | undefined> {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(end + 4);
        this.requests.push(head);
        return head;
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** The next `n` bytes after the request head (a request body); fewer if the client closed first. */
  async body(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.closed) await new Promise<void>((r) => (this.wake = r));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Resolves once the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Writes `data` cut at the given offsets with a pause after each piece, so that the client
   * reads the pieces separately (Nagle is off on this side).
   */
  async writeSplit(data: string | Buffer, cuts: number[], pauseMs = 5): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.socket.setNoDelay(true);
    let at = 0;
    for (const cut of [...cuts, buf.length]) {
      if (cut <= at) continue;
      await this.write(buf.subarray(at, cut));
      at = cut;
      if (at < buf.length) await sleep(pauseMs);
    }
  }

  /** Bytes sent that the client has not asked for a request of (for "nothing was sent" checks). */
  get pending(): number {
    return this.buf.length;
  }
}

export interface RawServer {
  url: string;
  host: string;
  port: number;
  /** every connection accepted, in order */
  conns: RawConn[];
  /** the most connections that were open at the same time */
  maxOpen: number;
  /** connections open now */
  open(): number;
  close(): Promise<void>;
}

/**
 * Starts a server whose `script` runs once per accepted connection; when the script returns,
 * the connection is left as the script left it (closed or open). Errors in scripts fail nothing
 * by themselves: tests assert on what the client saw.
 */
export async function startRawServer(script: (c: RawConn, index: number) => Promise<void> | void, tls?: TlsOptions): Promise<RawServer> {
  const conns: RawConn[] = [];
  let open = 0;
  const state = { maxOpen: 0 };
  const onSocket = (socket: Socket): void => {
    const c = new RawConn(socket);
    const index = conns.length;
    conns.push(c);
    open++;
    state.maxOpen = Math.max(state.maxOpen, open);
    void c.whenClosed.then(() => open--);
    Promise.resolve()
      .then(() => script(c, index))
      .catch(() => socket.destroy());
  };
  const server: Server = tls ? createTlsServer(tls, onSocket) : createServer(onSocket);
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  return {
    url: `${tls ? 'https' : 'http'}://${host}`,
    host,
    port,
    conns,
    get maxOpen() {
      return state.maxOpen;
    },
    open: () => open,
    async close() {
      for (const c of conns) c.socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A complete response with a Content-Length body. */
export function response(body: string | Buffer = '', headers: Record<string, string | number> = {}, status = '200 OK'): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const lines = [`HTTP/1.1 ${status}`, `content-length: ${b.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), b]);
}

/** Serve `handler`'s answer to every request on every connection, keep-alive. */
export function serveEach(handler: (head: string, c: RawConn, n: number) => Promise<void> | void): (c: RawConn) => Promise<void> {
  let n = 0;
  return async (c) => {
    for (let head = await c.request(); head !== undefined; head = await c.request()) await handler(head, c, n++);
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
