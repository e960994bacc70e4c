import { setTimeout as delay } from 'node:timers/promises';
import { NETWORK_FAILURE_CODES } from '../network-errors.js';

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retry-After is honoured up to this; a registry asking for longer is treated as unavailable. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 300, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

/** Exponential backoff with jitter in [50%, 100%] of the step, so parallel clients spread out. */
export function backoffDelay(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(step * (0.5 + random() * 0.5));
}

/** Retry-After as delta-seconds or an HTTP-date -> milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Statuses that mean "try again": throttling and transient server or gateway failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}


const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'EPROTO', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_UNSUPPORTED_PROTOCOL',
]);

/** The error and its causes, outermost first (undici wraps socket errors). */
function chain(e: unknown): Array<{ code?: unknown; message?: unknown; name?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown; name?: unknown }> = [];
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    out.push(cur as { code?: unknown });
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

export function errorCode(e: unknown): string | undefined {
  for (const c of chain(e)) if (typeof c.code === 'string') return c.code;
  return undefined;
}

export function isAbortError(e: unknown): boolean {
  return chain(e).some((c) => c.name === 'AbortError' || c.code === 'ABORT_ERR' || c.code === 'UND_ERR_ABORTED');
}

/** Connection-level failures worth another try (resets, refusals, timeouts, a body cut short). */
export function isRetryableError(e: unknown): boolean {
  if (isAbortError(e) || isTlsError(e)) return false;
  return chain(e).some((c) => typeof c.code === 'string' && NETWORK_FAILURE_CODES.has(c.code));
}

export function isTlsError(e: unknown): boolean {
  return chain(e).some((c) => typeof c.code === 'string' && (TLS_CODES.has(c.code) || c.code.startsWith('ERR_SSL_') || c.code.startsWith('ERR_TLS_')));
}

const FRIENDLY: Record<string, string> = {
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak TLS (a plain-HTTP registry?)',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'the server does not speak TLS (a plain-HTTP registry?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in an untrusted (self-signed) CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is signed by an unknown CA',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not name this host',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
};

/** A short, secret-free reason for messages: "ECONNRESET (other side closed)". */
export function describeNetworkError(e: unknown): string {
  const code = errorCode(e);
  if (code && FRIENDLY[code]) return `${FRIENDLY[code]} (${code})`;
  const msg = e instanceof Error ? e.message : String(e);
  const short = msg.split('\n')[0]!.slice(0, 200);
  return code && !short.includes(code) ? `${code} (${short})` : short;
}

/** Sleep that ends early (with the abort reason) when the signal fires. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  await delay(ms, undefined, signal ? { signal } : undefined);
}
