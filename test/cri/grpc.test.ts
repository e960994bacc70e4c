/**
 * The gRPC call and the client against an in-process HTTP/2 server on a unix socket, for what a
 * real runtime will not do on demand: error statuses, silence, compressed or malformed answers,
 * a runtime with only runtime.v1alpha2.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CriCallError, CriClient, decodeMessage, encodeMessage, frameMessage, GrpcStatus, unaryCall } from '../../src/cri/index.js';

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

let dir: string;
let socket: string;
let server: Http2Server;
let handler: Handler;
const seen: { path: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-cri-'));
  socket = join(dir, 'fake.sock');
  server = createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ path: String(headers[':path']), headers, body });
      handler(stream, headers, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** Answer with one message and grpc-status 0 in the trailers, as grpc-go does. */
function answer(stream: ServerHttp2Stream, message: Buffer): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frameMessage(message));
}

/** A trailers-only error answer. */
function error(stream: ServerHttp2Stream, status: number, message: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
}

const rejectsWith = (status: number, pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof CriCallError, String(e));
  assert.equal(e.code, 'ERR_CRI_CALL');
  assert.equal(e.kind, 'runtime');
  assert.equal(e.grpcStatus, status, e.message);
  assert.match(e.message, pattern);
  assert.ok(e.hint);
  return true;
};

test('a unary call: framed request with the gRPC headers, the framed answer back', async () => {
  handler = (stream, _h, body) => answer(stream, Buffer.concat([Buffer.from('echo:'), body.subarray(5)]));
  seen.length = 0;
  const res = await unaryCall(`unix://${socket}`, '/runtime.v1.RuntimeService/Version', encodeMessage([[1, 'v1']]), { timeoutMs: 5000 });
  assert.equal(res.toString('latin1'), 'echo:\n\x02v1');
  const [req] = seen;
  assert.equal(req!.path, '/runtime.v1.RuntimeService/Version');
  assert.equal(req!.headers['content-type'], 'application/grpc');
  assert.equal(req!.headers.te, 'trailers');
  assert.equal(req!.headers['grpc-timeout'], '5000m');
  assert.equal(req!.body.toString('hex'), '0000000004' + '0a027631');
});

test('a gRPC error status comes back as CriCallError with the status and the decoded message', async () => {
  handler = (stream) => error(stream, GrpcStatus.NOT_FOUND, 'image "registry.k8s.io/x:1" not found: 100% sure');
  await assert.rejects(
    unaryCall(socket, '/runtime.v1.ImageService/ImageStatus', Buffer.alloc(0)),
    rejectsWith(GrpcStatus.NOT_FOUND, /ImageStatus on .*fake\.sock failed: NOT_FOUND: image "registry\.k8s\.io\/x:1" not found: 100% sure/),
  );
});

test('no answer within the deadline: DEADLINE_EXCEEDED, promptly', async () => {
  handler = () => undefined; // never answers
  const t0 = Date.now();
  await assert.rejects(unaryCall(socket, '/runtime.v1.RuntimeService/Status', Buffer.alloc(0), { timeoutMs: 300 }), rejectsWith(GrpcStatus.DEADLINE_EXCEEDED, /within 300 ms/));
  assert.ok(Date.now() - t0 < 2000);
});

test('nobody on the socket: UNAVAILABLE with a hint to start the runtime', async () => {
  await assert.rejects(new CriClient(join(dir, 'missing.sock')).version(), (e: unknown) => {
    assert.ok(rejectsWith(GrpcStatus.UNAVAILABLE, /cannot connect: .*ENOENT/)(e));
    assert.match((e as CriCallError).hint!, /container runtime running/);
    return true;
  });
});

test('answers that are not one uncompressed message are refused', async () => {
  handler = (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const f = frameMessage(Buffer.from('x'));
    f[0] = 1;
    stream.end(f);
  };
  await assert.rejects(unaryCall(socket, '/p', Buffer.alloc(0)), rejectsWith(GrpcStatus.INTERNAL, /compressed/));
  handler = (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
  };
  await assert.rejects(unaryCall(socket, '/p', Buffer.alloc(0)), rejectsWith(GrpcStatus.INTERNAL, /no message/));
  handler = (stream) => {
    stream.respond({ ':status': 404 }, { endStream: true });
  };
  await assert.rejects(unaryCall(socket, '/p', Buffer.alloc(0)), rejectsWith(GrpcStatus.UNIMPLEMENTED, /HTTP status 404/));
});

test('client: a runtime with only runtime.v1alpha2 is asked again there, and remembered', async () => {
  handler = (stream, headers) => {
    if (String(headers[':path']).startsWith('/runtime.v1.')) return error(stream, GrpcStatus.UNIMPLEMENTED, 'unknown service runtime.v1.RuntimeService');
    answer(stream, encodeMessage([[1, '0.1.0'], [2, 'containerd'], [3, 'v1.5.9'], [4, 'v1alpha2']]));
  };
  seen.length = 0;
  const client = new CriClient(socket);
  assert.deepEqual(await client.version(), { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v1.5.9', runtimeApiVersion: 'v1alpha2' });
  assert.equal(client.api, 'v1alpha2');
  await client.version();
  assert.deepEqual(
    seen.map((s) => s.path),
    ['/runtime.v1.RuntimeService/Version', '/runtime.v1alpha2.RuntimeService/Version', '/runtime.v1alpha2.RuntimeService/Version'],
  );
});

test('client: status decodes conditions and JSON info; a malformed answer is ERR_CRI_CALL naming the call', async () => {
  handler = (stream, _h, body) => {
    assert.equal(decodeMessage(body.subarray(5)).bool(1), true, 'verbose sent');
    answer(
      stream,
      encodeMessage([
        [1, [[1, [[1, 'RuntimeReady'], [2, true]]], [1, [[1, 'NetworkReady'], [2, false], [3, 'NetworkPluginNotReady'], [4, 'cni config uninitialized']]]]],
        [2, [[1, 'config'], [2, '{"sandboxImage":"registry.k8s.io/pause:3.9"}']]],
        [2, [[1, 'golang'], [2, 'go1.19']]],
      ]),
    );
  };
  const s = await new CriClient(socket).status({ verbose: true });
  assert.deepEqual(s.conditions, [
    { type: 'RuntimeReady', status: true, reason: '', message: '' },
    { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni config uninitialized' },
  ]);
  assert.deepEqual(s.info, { config: { sandboxImage: 'registry.k8s.io/pause:3.9' }, golang: 'go1.19' });

  handler = (stream) => answer(stream, Buffer.from('0a05ab', 'hex'));
  await assert.rejects(new CriClient(socket).listImages(), rejectsWith(GrpcStatus.INTERNAL, /ListImages .*malformed protobuf message: truncated/));
});
