/**
 * One unary gRPC call over a unix socket (the gRPC-over-HTTP/2 protocol, PROTOCOL-HTTP2.md):
 * a POST with a 5-byte-framed message, the answer's one framed message, and the status from
 * grpc-status / grpc-message in the trailers (or in the headers of a trailers-only answer).
 * node:http2 does the HTTP/2; a session per call keeps a restarted runtime from leaving a dead
 * connection behind, and CRI callers make few calls.
 */
import { connect as h2connect, constants as h2, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { CriCallError, GrpcStatus } from './errors.js';

export interface UnaryCallOptions {
  /** Deadline for the whole call; sent as grpc-timeout too, so the runtime gives up as well. */
  timeoutMs?: number;
  /** Largest answer accepted (default 64 MiB). */
  maxResponseBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024;

/** `unix:///run/containerd/containerd.sock` or a plain path -> the path. */
export function socketPathOf(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/** HTTP status -> gRPC status, for answers that carry no grpc-status (the spec's table). */
function statusFromHttp(code: number): number {
  if (code === 400) return GrpcStatus.INTERNAL;
  if (code === 401) return GrpcStatus.UNAUTHENTICATED;
  if (code === 403) return GrpcStatus.PERMISSION_DENIED;
  if (code === 404) return GrpcStatus.UNIMPLEMENTED;
  if (code === 429 || code === 502 || code === 503 || code === 504) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Frame a message: compressed flag 0, big-endian length, bytes. */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The one message of a unary answer, or why the body is not one. */
function unframe(body: Buffer): Buffer | string {
  if (body.length === 0) return 'the answer has no message';
  if (body.length < 5) return `the answer is ${body.length} bytes, shorter than a message frame`;
  if (body[0] !== 0) return 'the answer is compressed though no compression was offered';
  const len = body.readUInt32BE(1);
  if (body.length !== 5 + len) return `the answer frame declares ${len} bytes but ${body.length - 5} came`;
  return body.subarray(5);
}

/**
 * Call `path` (/package.Service/Method) on the gRPC server at `address` with an encoded request;
 * resolves with the encoded response, rejects with a CriCallError carrying the gRPC status.
 */
export function unaryCall(address: string, path: string, request: Uint8Array, opts: UnaryCallOptions = {}): Promise<Buffer> {
  const socket = socketPathOf(address);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  return new Promise((resolve, reject) => {
    const session = h2connect('http://localhost', { createConnection: () => netConnect(socket) });
    let settled = false;
    const finish = (err: CriCallError | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const fail = (status: number, message: string, cause?: unknown): void => finish(new CriCallError(path, socket, status, message, { cause }));

    const timer = setTimeout(() => fail(GrpcStatus.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`), timeoutMs);
    const connectFailed = (e: NodeJS.ErrnoException): void =>
      fail(e.code === 'EACCES' ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAVAILABLE, `cannot connect: ${e.message}`, e);
    session.on('error', connectFailed);

    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [h2.HTTP2_HEADER_TE]: 'trailers',
      [h2.HTTP2_HEADER_USER_AGENT]: 'airgap-cri',
      // grpc-timeout allows at most 8 digits
      'grpc-timeout': `${Math.min(Math.max(1, Math.ceil(timeoutMs)), 99_999_999)}m`,
    });

    let httpStatus: number | undefined;
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    const take = (h: IncomingHttpHeaders): void => {
      const s = h['grpc-status'];
      if (s !== undefined) grpcStatus = Number(s);
      const m = h['grpc-message'];
      if (typeof m === 'string') grpcMessage = percentDecode(m);
    };
    stream.on('response', (h) => {
      httpStatus = Number(h[h2.HTTP2_HEADER_STATUS]);
      take(h);
    });
    stream.on('trailers', take);

    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('data', (c: Buffer) => {
      received += c.length;
      if (received > maxBytes) {
        fail(GrpcStatus.RESOURCE_EXHAUSTED, `the answer exceeds ${maxBytes} bytes`);
        return;
      }
      chunks.push(c);
    });
    stream.on('error', (e: Error) => {
      // A socket that cannot be opened cancels the pending stream first; its cause is the reason.
      if (e.cause instanceof Error && 'syscall' in e.cause) connectFailed(e.cause as NodeJS.ErrnoException);
      else fail(GrpcStatus.UNAVAILABLE, `stream failed: ${e.message}`, e);
    });
    stream.on('close', () => {
      if (settled) return;
      if (grpcStatus === undefined) {
        if (httpStatus !== undefined && httpStatus !== 200) fail(statusFromHttp(httpStatus), `HTTP status ${httpStatus} without a gRPC status`);
        else fail(GrpcStatus.INTERNAL, `the call ended without a gRPC status (HTTP/2 stream code ${stream.rstCode ?? 0})`);
        return;
      }
      if (grpcStatus !== 0) {
        fail(grpcStatus, grpcMessage || '(no message)');
        return;
      }
      const message = unframe(Buffer.concat(chunks));
      if (typeof message === 'string') fail(GrpcStatus.INTERNAL, message);
      else finish(undefined, message);
    });
    stream.end(frameMessage(request));
  });
}
