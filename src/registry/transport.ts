import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { AirgapError } from '../errors.js';
import { CaFileError, parseErrorBody, RegistryResponseError, RegistryTlsError, RegistryUnavailableError } from './errors.js';
import { safeEmit, type EventSink } from './events.js';
import { H1Agent } from './h1/index.js';
import { isInsecureHost } from './mirrors.js';
import { redactUrl } from './redact.js';
import {
  backoffDelay, describeNetworkError, isAbortError, isRetryableError, isRetryableStatus, isTlsError, parseRetryAfter, sleep,
  type RetryPolicy,
} from './retry.js';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface TransportOptions {
  caFiles?: readonly string[];
  insecure: ReadonlySet<string>;
  retry: RetryPolicy;
  timeouts: { connectMs: number; headersMs: number; bodyIdleMs: number };
  connectionsPerOrigin: number;
  userAgent: string;
  onEvent?: EventSink;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A Buffer is replayed on retries and redirects; a stream is sent once (no retry). */
  body?: Buffer | Readable;
  /** Sent only to this origin: dropped as soon as a redirect leaves it. */
  authorization?: { origin: string; value: string };
  signal?: AbortSignal;
  /** What the request is for, in messages: "fetch manifest registry.k8s.io/pause:3.9". */
  what: string;
  followRedirects?: boolean;
  /** Tries in all, overriding the policy (1 = no retry). */
  attempts?: number;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable;
  /** The URL that answered, after redirects. */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 5;

export function header(h: ResponseHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Read at most `max` bytes of a body (then drop the rest); for error bodies and small JSON. */
export async function readLimited(body: Readable, max: number): Promise<{ data: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    if (n + b.byteLength > max) {
      chunks.push(b.subarray(0, max - n));
      n = max;
      abandon(body);
      return { data: Buffer.concat(chunks, n), truncated: true };
    }
    chunks.push(b);
    n += b.byteLength;
  }
  return { data: Buffer.concat(chunks, n), truncated: false };
}

/** Drop a body we will not read; destroying it mid-way reports an error nobody needs to hear. */
export function abandon(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** Drain a body we do not need so its connection goes back to the pool (small ones); never throws. */
export async function discard(body: Readable): Promise<void> {
  try {
    const { truncated } = await readLimited(body, 64 * 1024);
    if (truncated) abandon(body);
  } catch {
    abandon(body);
  }
}

function loadCaFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaFileError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory, not a file' : (e as Error).message, e, true);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CaFileError(path, 'it holds no PEM certificate');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new CaFileError(path, `a certificate in it does not parse (${(e as Error).message})`, e);
    }
  }
  return blocks;
}

/**
 * HTTP for the registry client: keep-alive pools per origin, the system CAs plus --ca-file,
 * retries with backoff (honouring Retry-After) on throttling, 5xx and dropped connections, and
 * redirects followed by hand so Authorization never leaves the registry's origin.
 *
 * Every request goes through our own HTTP/1.1 client (h1/): measured on a 343 MiB pack it needs
 * about a third of undici's CPU per downloaded byte, and sending costs less too; on a small
 * machine shared with the registry that is most of pack's and load's time.
 */
export class Transport {
  private readonly h1: H1Agent;

  constructor(private readonly opts: TransportOptions) {
    const extra = (opts.caFiles ?? []).flatMap(loadCaFile);
    let ca: string[] | undefined;
    if (extra.length > 0) {
      // Passing `ca` replaces Node's default store, so the defaults go in explicitly.
      ca = [...rootCertificates, ...extra];
      const envExtra = process.env.NODE_EXTRA_CA_CERTS;
      if (envExtra) {
        try {
          ca.push(...loadCaFile(envExtra));
        } catch {
          /* Node itself warns about a bad NODE_EXTRA_CA_CERTS */
        }
      }
    }
    this.h1 = new H1Agent({
      ...opts.timeouts,
      connections: opts.connectionsPerOrigin,
      keepAliveMs: 30_000,
      tls: (url) => (isInsecureHost(this.opts.insecure, url.host) ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ca ? { ca } : {}) }),
    });
  }

  get retryPolicy(): RetryPolicy {
    return this.opts.retry;
  }

  emit: EventSink = (e) => safeEmit(this.opts.onEvent, e);

  /** One request with retries and redirects; statuses other than retryable ones are returned, not thrown. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const policy = this.opts.retry;
    const replayable = !(req.body instanceof Readable);
    const attempts = Math.max(1, replayable ? (req.attempts ?? policy.attempts) : 1);
    for (let attempt = 1; ; attempt++) {
      let waitMs: number;
      let reason: string;
      try {
        const res = await this.follow(req);
        if (!isRetryableStatus(res.status)) return res;
        const { data } = await readLimited(res.body, 64 * 1024).catch(() => ({ data: Buffer.alloc(0) }));
        const errors = parseErrorBody(data);
        reason = `HTTP ${res.status}${errors.length ? ` ${errors[0]!.code}` : ''}`;
        if (attempt >= attempts) {
          throw new RegistryUnavailableError(req.what, attempt, reason, { status: res.status, errors, endpoint: redactUrl(req.url) });
        }
        const after = parseRetryAfter(res.headers['retry-after']);
        waitMs = after !== undefined ? Math.min(after, policy.maxRetryAfterMs) : backoffDelay(policy, attempt);
      } catch (e) {
        if (e instanceof AirgapError) throw e;
        if (req.signal?.aborted || isAbortError(e)) throw req.signal?.reason ?? e;
        const url = new URL(req.url);
        if (isTlsError(e)) throw new RegistryTlsError(url.host, describeNetworkError(e), { endpoint: redactUrl(url) }, e);
        reason = describeNetworkError(e);
        if (!isRetryableError(e) || attempt >= attempts) {
          throw new RegistryUnavailableError(req.what, attempt, `${reason} (${redactUrl(url)})`, { endpoint: redactUrl(url) }, {
            cause: e,
            ...(replayable ? {} : { hint: 'an upload stream cannot be replayed; retry the operation (content already stored is skipped)' }),
          });
        }
        waitMs = backoffDelay(policy, attempt);
      }
      this.emit({ type: 'retry', method: req.method, url: redactUrl(req.url), attempt, attempts, delayMs: waitMs, reason });
      await sleep(waitMs, req.signal);
    }
  }

  /** One try: the request and the redirects it leads to. */
  private async follow(req: HttpRequest): Promise<HttpResponse> {
    let url = new URL(req.url);
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, ...req.headers };
      const auth = req.authorization;
      if (auth && url.origin === auth.origin) headers.authorization = auth.value;
      if (body === undefined) delete headers['content-type'];
      const res = await this.h1.request({ method, url, headers, body, signal: req.signal });
      const location = header(res.headers, 'location');
      if (!REDIRECTS.has(res.status) || req.followRedirects === false || !location) {
        return { status: res.status, headers: res.headers, body: res.body, url: url.toString() };
      }
      await discard(res.body);
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryResponseError(`${req.what}: more than ${MAX_REDIRECTS} redirects`, { status: res.status, endpoint: redactUrl(req.url) });
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new RegistryResponseError(`${req.what}: redirected to an unsupported URL scheme ${next.protocol}`, { status: res.status });
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      } else if (body instanceof Readable) {
        throw new RegistryResponseError(`${req.what}: redirected (${res.status}) while streaming an upload, which cannot be replayed`, {
          status: res.status,
          endpoint: redactUrl(req.url),
        });
      }
      this.emit({
        type: 'redirect',
        method,
        from: redactUrl(url),
        to: redactUrl(next),
        authorizationDropped: auth !== undefined && url.origin === auth.origin && next.origin !== auth.origin,
      });
      url = next;
    }
  }

  async close(): Promise<void> {
    this.h1.close();
  }
}
