/**
 * What the running containerd's CRI plugin says about itself: `RuntimeService.Status` (verbose),
 * the call kubelet and `crictl info` make. Its `config` is the configuration containerd actually
 * runs with — the sandbox image and config_path after every import and merge, and before any
 * edit that still waits for a restart. One unary gRPC call over the unix socket with node:http2
 * and a hand-coded message (StatusRequest{verbose: true}); no gRPC library at run time.
 */
import { connect as h2connect, constants as h2 } from 'node:http2';
import { connect as netConnect } from 'node:net';

export interface CriStatusInfo {
  /** The CRI API version that answered ("v1", or "v1alpha2" on old containerd). */
  api: string;
  /** Verbose info; values that are JSON (containerd's "config") decoded. */
  info: Record<string, unknown>;
}

export class CriCallError extends Error {
  constructor(message: string, readonly grpcStatus?: number) {
    super(message);
  }
}

const GRPC_UNIMPLEMENTED = 12;

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new CriCallError('truncated protobuf varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
    if (shift > 63) throw new CriCallError('protobuf varint too long');
  }
}

/** The fields of one protobuf message: field number -> length-delimited values (others skipped). */
function fields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const value = buf.subarray(p2, p2 + len);
      if (value.length !== len) throw new CriCallError('truncated protobuf field');
      pos = p2 + len;
      const list = out.get(field) ?? [];
      list.push(value);
      out.set(field, list);
    } else throw new CriCallError(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

/** StatusResponse { RuntimeStatus status = 1; map<string, string> info = 2; } -> info. */
export function decodeStatusInfo(message: Buffer): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (const entry of fields(message).get(2) ?? []) {
    const kv = fields(entry);
    const key = kv.get(1)?.[0]?.toString('utf8') ?? '';
    const raw = kv.get(2)?.[0]?.toString('utf8') ?? '';
    try {
      info[key] = JSON.parse(raw) as unknown;
    } catch {
      info[key] = raw;
    }
  }
  return info;
}

function unaryCall(socket: string, path: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = h2connect('http://localhost', { createConnection: () => netConnect(socket) });
    let settled = false;
    const done = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      session.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => done(new CriCallError(`no answer from ${socket} within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (e) => done(new CriCallError(`cannot reach the CRI socket ${socket}: ${e.message}`)));
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let statusMessage = '';
    const takeStatus = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
      if (typeof h['grpc-message'] === 'string') statusMessage = decodeURIComponent(h['grpc-message']);
    };
    stream.on('response', (h) => takeStatus(h as Record<string, unknown>));
    stream.on('trailers', (h) => takeStatus(h as Record<string, unknown>));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (e) => done(new CriCallError(`CRI call ${path} failed: ${e.message}`)));
    stream.on('end', () => {
      if (status !== undefined && status !== 0) {
        done(new CriCallError(`CRI call ${path} failed: ${statusMessage || `grpc-status ${status}`}`, status));
        return;
      }
      const body = Buffer.concat(chunks);
      if (body.length < 5) {
        done(new CriCallError(`CRI call ${path}: empty answer`));
        return;
      }
      const len = body.readUInt32BE(1);
      done(undefined, body.subarray(5, 5 + len));
    });
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    request.copy(frame, 5);
    stream.end(frame);
  });
}

/** `Status(verbose=true)` on the CRI socket: runtime.v1 first, v1alpha2 for containerd < 1.7 without v1. */
export async function criStatus(socket: string, timeoutMs = 5000): Promise<CriStatusInfo> {
  const verbose = Buffer.from([0x08, 0x01]);
  try {
    return { api: 'v1', info: decodeStatusInfo(await unaryCall(socket, '/runtime.v1.RuntimeService/Status', verbose, timeoutMs)) };
  } catch (e) {
    if (!(e instanceof CriCallError) || e.grpcStatus !== GRPC_UNIMPLEMENTED) throw e;
  }
  return { api: 'v1alpha2', info: decodeStatusInfo(await unaryCall(socket, '/runtime.v1alpha2.RuntimeService/Status', verbose, timeoutMs)) };
}

/** The first value under `key` anywhere in a JSON tree (containerd moved keys between versions). */
function findKey(v: unknown, key: string, depth = 0): unknown {
  if (depth > 6 || v === null || typeof v !== 'object') return undefined;
  if (!Array.isArray(v) && key in v) return (v as Record<string, unknown>)[key];
  for (const child of Object.values(v)) {
    const hit = findKey(child, key, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The sandbox image and registry config_path the running CRI plugin uses. */
export function runningSettings(info: Record<string, unknown>): { sandboxImage?: string; configPath?: string } {
  const out: { sandboxImage?: string; configPath?: string } = {};
  const sandbox = findKey(info, 'sandboxImage') ?? findKey(findKey(info, 'pinnedImages'), 'sandbox');
  if (typeof sandbox === 'string' && sandbox !== '') out.sandboxImage = sandbox;
  const registry = findKey(info, 'registry');
  const configPath = findKey(registry, 'configPath');
  if (typeof configPath === 'string') out.configPath = configPath;
  return out;
}
