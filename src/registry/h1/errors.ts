import type { HttpClientErrorCode } from '../../network-errors.js';

/**
 * A connection-level failure of our HTTP/1.1 client, shaped like Node's own socket errors (a
 * `code` string) so the retry rules treat it as they treat ECONNRESET: the registry client wraps
 * it in a RegistryUnavailableError with the facts a user needs.
 */
export class HttpConnectionError extends Error {
  override name = 'HttpConnectionError';
  constructor(
    readonly code: HttpConnectionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What each code means: CONNECT_TIMEOUT no TCP/TLS connection in time; HEADERS_TIMEOUT no complete
 * answer head in time; BODY_TIMEOUT a body or upload stalled; PREMATURE_CLOSE the server closed before
 * the response ended; BAD_RESPONSE bytes that are not HTTP/1.x, or framing that contradicts itself. */
export type HttpConnectionErrorCode = HttpClientErrorCode;

/** The signal's reason when it is an Error, else an AbortError as Node's own APIs raise it. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return Object.assign(new Error('the operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}
