/** Our HTTP client's own connection failures (src/registry/h1/errors.ts raises them). */
export const HTTP_CLIENT_ERROR_CODES = [
  'AIRGAP_HTTP_CONNECT_TIMEOUT', 'AIRGAP_HTTP_HEADERS_TIMEOUT', 'AIRGAP_HTTP_BODY_TIMEOUT', 'AIRGAP_HTTP_PREMATURE_CLOSE', 'AIRGAP_HTTP_BAD_RESPONSE',
] as const;
export type HttpClientErrorCode = (typeof HTTP_CLIENT_ERROR_CODES)[number];

/**
 * Codes of a connection that failed or broke off, worth another try: Node's socket errors,
 * undici's (doctor's probe), ours. One list for the registry client's retries, the copy engine's
 * resumes and pack's whole-read retries.
 */
export const NETWORK_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  ...HTTP_CLIENT_ERROR_CODES,
]);
