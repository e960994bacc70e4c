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

export type HttpConnectionErrorCode =
  /** no TCP/TLS connection within the connect timeout */
  | 'AIRGAP_HTTP_CONNECT_TIMEOUT'
  /** the request went out, no complete response head came back in time */
  | 'AIRGAP_HTTP_HEADERS_TIMEOUT'
  /** the body stopped arriving (stalled) for longer than the idle timeout */
  | 'AIRGAP_HTTP_BODY_TIMEOUT'
  /** the server closed the connection before the response ended */
  | 'AIRGAP_HTTP_PREMATURE_CLOSE'
  /** bytes that are not an HTTP/1.x response, or framing that contradicts itself */
  | 'AIRGAP_HTTP_BAD_RESPONSE';

/** Every code above: the retry rules list them with the socket errors. */
export const HTTP_CONNECTION_ERROR_CODES: readonly HttpConnectionErrorCode[] = [
  'AIRGAP_HTTP_CONNECT_TIMEOUT', 'AIRGAP_HTTP_HEADERS_TIMEOUT', 'AIRGAP_HTTP_BODY_TIMEOUT', 'AIRGAP_HTTP_PREMATURE_CLOSE', 'AIRGAP_HTTP_BAD_RESPONSE',
];

/** The signal's reason when it is an Error, else an AbortError as Node's own APIs raise it. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return Object.assign(new Error('the operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}
