import { connect as http2Connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';

/**
 * Just enough gRPC (HTTP/2 + 5-byte frames) and protobuf to call the kubelet-facing CRI API
 * (runtime.v1) on containerd's socket, as kubelet would: proof that images we load are visible
 * to Kubernetes, and a way to make CRI pull through hosts.toml mirrors. No dependencies.
 */

type Field = Buffer | bigint;

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Encode a message of length-delimited fields (strings and nested messages are all we send). */
export function encodeMessage(fields: [number, Buffer | string][]): Buffer {
  return Buffer.concat(
    fields.flatMap(([no, v]) => {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      return [varint((no << 3) | 2), varint(b.length), b];
    }),
  );
}

export function decodeMessage(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let i = 0;
  const readVarint = (): bigint => {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated protobuf varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const no = key >>> 3;
    const wire = key & 7;
    let val: Field;
    if (wire === 0) val = readVarint();
    else if (wire === 2) {
      const len = Number(readVarint());
      val = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 1) {
      val = buf.readBigUInt64LE(i);
      i += 8;
    } else if (wire === 5) {
      val = BigInt(buf.readUInt32LE(i));
      i += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    const list = out.get(no) ?? [];
    list.push(val);
    out.set(no, list);
  }
  return out;
}

const str = (m: Map<number, Field[]>, no: number): string => {
  const v = m.get(no)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
};
const strs = (m: Map<number, Field[]>, no: number): string[] =>
  (m.get(no) ?? []).filter(Buffer.isBuffer).map((b) => b.toString('utf8'));

export class CriCallError extends Error {
  constructor(
    readonly method: string,
    readonly grpcStatus: number,
    readonly grpcMessage: string,
  ) {
    super(`CRI ${method} failed: grpc-status ${grpcStatus}: ${grpcMessage}`);
    this.name = 'CriCallError';
  }
}

/** One unary gRPC call over a unix socket. */
export function grpcCall(socket: string, method: string, request: Buffer, timeoutMs = 30000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = http2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    session.on('error', reject);
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    request.copy(frame, 5);
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: method,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.setTimeout(timeoutMs, () => req.close(constants.NGHTTP2_CANCEL));
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message = '';
    const take = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) => {
      session.close();
      reject(err);
    });
    req.on('close', () => {
      session.close();
      if (status === undefined) return reject(new CriCallError(method, -1, 'no grpc-status (call cancelled or timed out)'));
      if (status !== '0') return reject(new CriCallError(method, Number(status), message));
      const body = Buffer.concat(chunks);
      if (body.length < 5) return resolve(Buffer.alloc(0));
      resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
    });
    req.end(frame);
  });
}

export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

export interface CriClient {
  /** RuntimeService/Version: { version, runtimeName, runtimeVersion, runtimeApiVersion } */
  version(): Promise<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  /** ImageService/ListImages */
  listImages(): Promise<CriImage[]>;
  /** ImageService/PullImage; returns the image ref (id) CRI reports. */
  pullImage(image: string, auth?: { username: string; password: string }): Promise<string>;
  /** ImageService/ImageStatus; undefined when CRI does not know the image. */
  imageStatus(image: string): Promise<CriImage | undefined>;
}

function decodeImage(b: Buffer): CriImage {
  const m = decodeMessage(b);
  return { id: str(m, 1), repoTags: strs(m, 2), repoDigests: strs(m, 3) };
}

export function criClient(socket: string): CriClient {
  return {
    async version() {
      const m = decodeMessage(await grpcCall(socket, '/runtime.v1.RuntimeService/Version', encodeMessage([[1, 'v1']])));
      return { version: str(m, 1), runtimeName: str(m, 2), runtimeVersion: str(m, 3), runtimeApiVersion: str(m, 4) };
    },
    async listImages() {
      const m = decodeMessage(await grpcCall(socket, '/runtime.v1.ImageService/ListImages', Buffer.alloc(0)));
      return (m.get(1) ?? []).filter(Buffer.isBuffer).map(decodeImage);
    },
    async pullImage(image, auth) {
      const fields: [number, Buffer | string][] = [[1, encodeMessage([[1, image]])]];
      if (auth) fields.push([2, encodeMessage([[1, auth.username], [2, auth.password]])]);
      const m = decodeMessage(await grpcCall(socket, '/runtime.v1.ImageService/PullImage', encodeMessage(fields), 120000));
      return str(m, 1);
    },
    async imageStatus(image) {
      const m = decodeMessage(
        await grpcCall(socket, '/runtime.v1.ImageService/ImageStatus', encodeMessage([[1, encodeMessage([[1, image]])]])),
      );
      const img = m.get(1)?.[0];
      return Buffer.isBuffer(img) ? decodeImage(img) : undefined;
    },
  };
}
