export { H1Agent, type H1AgentOptions } from './agent.js';
export type { H1Request, H1Response, TlsSettings } from './connection.js';
export { HttpConnectionError, type HttpConnectionErrorCode } from './errors.js';
export { parseResponseHead, bodyFraming, keepsAlive, MAX_HEAD_BYTES, type ResponseHead, type BodyFraming, type ResponseHeaders } from './response-head.js';
export { ChunkedDecoder } from './chunked.js';
