import { AirgapError } from '../errors.js';

/** gRPC status codes (grpc/doc/statuscodes.md), named for messages. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export const GrpcStatus = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

function hintFor(status: number, socket: string): string {
  switch (status) {
    case GrpcStatus.UNAVAILABLE:
      return `is the container runtime running, and is ${socket} its socket? (systemctl status containerd; the tool needs root to open it)`;
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'the runtime did not answer in time: look at its log (journalctl -u containerd) and try again';
    case GrpcStatus.UNIMPLEMENTED:
      return 'the runtime does not serve this CRI call: is the CRI plugin enabled (not in disabled_plugins) and the runtime recent enough (containerd >= 1.6)?';
    default:
      return 'the runtime refused the call: its log (journalctl -u containerd) says why';
  }
}

/** A CRI call that did not succeed: the runtime's gRPC status, or why none came back. */
export class CriCallError extends AirgapError {
  readonly method: string;
  readonly socket: string;
  /** The gRPC status code (2 UNKNOWN, 4 DEADLINE_EXCEEDED, 12 UNIMPLEMENTED, 14 UNAVAILABLE, …). */
  readonly grpcStatus: number;
  readonly grpcMessage: string;

  constructor(method: string, socket: string, grpcStatus: number, grpcMessage: string, opts: { cause?: unknown } = {}) {
    const name = GRPC_STATUS_NAMES[grpcStatus] ?? `status ${grpcStatus}`;
    super('ERR_CRI_CALL', 'runtime', `CRI ${method} on ${socket} failed: ${name}: ${grpcMessage}`, {
      hint: hintFor(grpcStatus, socket),
      details: { method, socket, grpcStatus, grpcCode: name, grpcMessage },
      cause: opts.cause,
    });
    this.method = method;
    this.socket = socket;
    this.grpcStatus = grpcStatus;
    this.grpcMessage = grpcMessage;
  }
}

/** Bytes that are not the protobuf message they should be. */
export class ProtobufError extends AirgapError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_CRI_PROTOBUF', 'runtime', `malformed protobuf message: ${message}`, {
      hint: 'the runtime answered with bytes this client cannot read; report it with the runtime name and version',
      details,
    });
  }
}
