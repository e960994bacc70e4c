import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Prng } from '../../scripts/lab/prng.js';

/**
 * A fault-injecting HTTP proxy for the distribution API: it sits on 127.0.0.1 in front of a real
 * registry and, for a seeded share of requests, does what bad networks and bad registries do —
 * resets the connection mid-blob, answers 5xx or 429 with Retry-After, stalls, ends a body early,
 * lies in Content-Length, redirects to another host, or serves bytes that do not match their
 * digest. Everything else passes through unchanged (the Host header included, so the registry's
 * upload Locations point back at the proxy). Every fault injected is counted by type.
 */

export const FAULT_TYPES = [
  'reset', 'http-500', 'http-502', 'http-503', 'throttle-429', 'stall', 'truncate', 'bad-length', 'redirect', 'corrupt',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** Faults only for blob downloads (registries redirect those to storage; a manifest is never redirected). */
const BODY_FAULTS = new Set<FaultType>(['truncate', 'bad-length', 'corrupt', 'redirect']);

export interface FaultProxyOptions {
  /** The real registry, e.g. http://127.0.0.1:41234 */
  upstream: string;
  /** Same seed, same sequence of decisions (per request, in arrival order). */
  seed?: string;
  /** Share of eligible requests that get a fault, 0..1. */
  rate?: number;
  /** The faults to draw from (default all). */
  faults?: readonly FaultType[];
  /** How long a stalled response pauses (default 1500 ms); Infinity never resumes. */
  stallMs?: number;
  retryAfterSeconds?: number;
  /**
   * A transient fault: at most this many faults per URL (then it is served cleanly). Default
   * unlimited; Infinity with rate 1 makes a fault permanent.
   */
  maxPerUrl?: number;
  /** Which requests may get a fault; default every /v2/<name>/… request (not the /v2/ probe). */
  eligible?(req: IncomingMessage): boolean;
}

export interface FaultProxy {
  url: string;
  host: string;
  port: number;
  /** Faults injected so far, by type. */
  injected: Record<FaultType, number>;
  /** Requests seen (eligible or not). */
  requests: number;
  /** Change what is injected from now on. */
  configure(o: Partial<Pick<FaultProxyOptions, 'rate' | 'faults' | 'stallMs' | 'maxPerUrl'>>): void;
  reset(): void;
  stop(): Promise<void>;
}

export function zeroCounts(): Record<FaultType, number> {
  return Object.fromEntries(FAULT_TYPES.map((t) => [t, 0])) as Record<FaultType, number>;
}

const isBlobGet = (req: IncomingMessage): boolean => req.method === 'GET' && /\/blobs\/[a-z0-9]+:[a-f0-9]+$/.test(req.url?.split('?')[0] ?? '');

function hardClose(socket: Socket | null): void {
  if (!socket) return;
  const s = socket as Socket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  let rate = opts.rate ?? 0;
  let faults: readonly FaultType[] = opts.faults ?? FAULT_TYPES;
  let stallMs = opts.stallMs ?? 1500;
  let maxPerUrl = opts.maxPerUrl ?? Infinity;
  const perUrl = new Map<string, number>();
  const prng = new Prng(opts.seed ?? 'fault-proxy', 'decisions');
  const random = (): number => prng.int(1_000_000) / 1_000_000;
  const eligible = opts.eligible ?? ((req: IncomingMessage) => /^\/v2\/.+/.test(req.url ?? ''));
  const injected = zeroCounts();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;

  /** Forward a request upstream; the response is handed to `onResponse` (or the client sees 502 on failure). */
  const forward = (req: IncomingMessage, res: ServerResponse, onResponse: (up: IncomingMessage) => void): void => {
    const up = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    }, onResponse);
    up.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(errorBody('UNAVAILABLE', 'proxy: upstream failed'));
      } else hardClose(res.socket);
    });
    req.pipe(up);
  };

  const passThrough = (req: IncomingMessage, res: ServerResponse): void => {
    forward(req, res, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
  };

  // A second origin (another port, so another host:port) that only passes through: where redirects go.
  const alt = createServer((req, res) => passThrough(req, res));
  alt.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => alt.listen(0, '127.0.0.1', resolve));
  const altPort = (alt.address() as AddressInfo).port;

  const pick = (req: IncomingMessage): FaultType | undefined => {
    if (!eligible(req) || rate <= 0 || random() >= rate) return undefined;
    const usable = faults.filter((f) => !BODY_FAULTS.has(f) || isBlobGet(req));
    if (usable.length === 0) return undefined;
    const key = `${req.method} ${req.url?.split('?')[0]}`;
    const n = perUrl.get(key) ?? 0;
    if (n >= maxPerUrl) return undefined;
    perUrl.set(key, n + 1);
    return usable[prng.int(usable.length)];
  };

  /**
   * Send a body through `res` with a fault applied somewhere inside it. The upstream body is read
   * whole first (test blobs are small), so the fault lands at an exact offset.
   */
  const faultyBody = (fault: FaultType, up: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    up.on('data', (c: Buffer) => chunks.push(c));
    up.on('error', () => hardClose(res.socket));
    up.on('end', () => {
      let body = Buffer.concat(chunks);
      // Somewhere strictly inside the body (an empty body gets the fault at its start).
      const cut = body.byteLength > 1 ? 1 + prng.int(body.byteLength - 1) : 0;
      const headers = { ...up.headers };
      if (fault === 'bad-length') headers['content-length'] = String(body.byteLength + 1 + prng.int(4096));
      res.writeHead(up.statusCode ?? 200, headers);
      switch (fault) {
        case 'corrupt':
          if (body.byteLength > 0) {
            body = Buffer.from(body);
            body[Math.min(cut, body.byteLength - 1)]! ^= 0xff;
          }
          res.end(body);
          return;
        case 'bad-length':
          // Longer than the body: the client waits for bytes that never come, then the connection closes.
          res.write(body, () => res.socket?.end());
          return;
        case 'reset':
        case 'truncate':
          res.write(body.subarray(0, cut), () => (fault === 'reset' ? hardClose(res.socket) : res.socket?.end()));
          return;
        case 'stall': {
          res.write(body.subarray(0, cut));
          if (!Number.isFinite(stallMs)) return;
          const t = setTimeout(() => {
            timers.delete(t);
            if (!res.destroyed) res.end(body.subarray(cut));
          }, stallMs);
          timers.add(t);
          return;
        }
        default:
          res.end(body);
      }
    });
  };

  const server: Server = createServer((req, res) => {
    requests++;
    const fault = pick(req);
    if (!fault) return passThrough(req, res);
    injected[fault]++;
    switch (fault) {
      case 'http-500':
      case 'http-502':
      case 'http-503': {
        const status = Number(fault.slice(5));
        req.resume();
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(errorBody('UNAVAILABLE', `injected ${status}`));
        return;
      }
      case 'throttle-429':
        req.resume();
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(opts.retryAfterSeconds ?? 1) });
        res.end(errorBody('TOOMANYREQUESTS', 'injected throttling'));
        return;
      case 'redirect':
        req.resume();
        res.writeHead(307, { location: `http://127.0.0.1:${altPort}${req.url}` });
        res.end();
        return;
      case 'reset':
        if (isBlobGet(req)) return forward(req, res, (up) => faultyBody('reset', up, res));
        // Half the time before the registry sees the request, half after it acted on it (the answer lost).
        if (random() < 0.5) {
          hardClose(req.socket);
          return;
        }
        forward(req, res, (up) => {
          up.resume();
          up.on('end', () => hardClose(req.socket));
        });
        return;
      case 'stall':
        if (isBlobGet(req)) return forward(req, res, (up) => faultyBody('stall', up, res));
        forward(req, res, (up) => {
          if (!Number.isFinite(stallMs)) return;
          const t = setTimeout(() => {
            timers.delete(t);
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          }, stallMs);
          timers.add(t);
        });
        return;
      default:
        forward(req, res, (up) => faultyBody(fault, up, res));
    }
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    injected,
    get requests() {
      return requests;
    },
    configure(o) {
      if (o.rate !== undefined) rate = o.rate;
      if (o.faults !== undefined) faults = o.faults;
      if (o.stallMs !== undefined) stallMs = o.stallMs;
      if (o.maxPerUrl !== undefined) maxPerUrl = o.maxPerUrl;
    },
    reset() {
      for (const t of FAULT_TYPES) injected[t] = 0;
      requests = 0;
      perUrl.clear();
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => server.close(() => r())),
        new Promise<void>((r) => alt.close(() => r())),
      ]);
    },
  };
}
