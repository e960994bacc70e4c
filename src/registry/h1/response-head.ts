import { HttpConnectionError } from './errors.js';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface ResponseHead {
  status: number;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minor: number;
  /** names lower-cased; a repeated header becomes an array, in order */
  headers: ResponseHeaders;
  /** bytes of the head, blank line included */
  size: number;
}

/** Larger heads are refused (no registry sends them; a runaway server might). */
export const MAX_HEAD_BYTES = 64 * 1024;

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;
// RFC 9110 token characters
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function bad(message: string): HttpConnectionError {
  return new HttpConnectionError('AIRGAP_HTTP_BAD_RESPONSE', message);
}

/**
 * The status line and header fields at the start of `buf`; undefined while the blank line that
 * ends them has not arrived. Pure: the connection feeds it what the socket delivered so far.
 */
export function parseResponseHead(buf: Buffer): ResponseHead | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) throw bad(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
  if (end + 4 > MAX_HEAD_BYTES) throw bad(`response head larger than ${MAX_HEAD_BYTES} bytes`);
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) throw bad(`not an HTTP/1.x response (it starts "${lines[0]!.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}")`);
  const headers: ResponseHeaders = Object.create(null) as ResponseHeaders;
  let last: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line[0] === ' ' || line[0] === '\t') {
      // obsolete line folding: part of the previous field's value
      if (last === undefined) throw bad('response head starts with a folded line');
      const v = headers[last]!;
      if (Array.isArray(v)) v[v.length - 1] += ` ${line.trim()}`;
      else headers[last] = `${v} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw bad(`malformed header line "${line.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}"`);
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    last = key;
  }
  return { status: Number(m[2]), minor: Number(m[1]), headers, size: end + 4 };
}

/** How the body of a response is delimited (RFC 9112 §6.3), for a request made with `method`. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export function bodyFraming(method: string, head: ResponseHead): BodyFraming {
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200) return { kind: 'none' };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = (Array.isArray(te) ? te.join(',') : te).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    // Only chunked last delimits the body; anything else runs to the end of the connection.
    return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    const values = (Array.isArray(cl) ? cl.join(',') : cl).split(',').map((s) => s.trim());
    if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values).size !== 1) throw bad(`invalid Content-Length "${values.join(', ').slice(0, 60)}"`);
    return { kind: 'length', length: Number(values[0]) };
  }
  return { kind: 'close' };
}

/** Whether the connection may carry another request after this response. */
export function keepsAlive(head: ResponseHead, framing: BodyFraming): boolean {
  if (framing.kind === 'close') return false;
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is suspect; close after it.
  if (head.minor === 0 && head.headers['transfer-encoding'] !== undefined) return false;
  const conn = head.headers.connection;
  const tokens = (Array.isArray(conn) ? conn.join(',') : (conn ?? '')).toLowerCase().split(',').map((s) => s.trim());
  if (tokens.includes('close')) return false;
  return head.minor === 1 || tokens.includes('keep-alive');
}
