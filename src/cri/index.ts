export {
  CriClient,
  type CriApiVersion,
  type CriAuth,
  type CriClientOptions,
  type CriCondition,
  type CriImage,
  type CriStatus,
  type CriVersion,
  type PullImageOptions,
} from './client.js';
export { unaryCall, frameMessage, socketPathOf, type UnaryCallOptions } from './grpc.js';
export { encodeMessage, decodeMessage, ProtoMessage, WireType, type ProtoFields, type ProtoValue } from './protobuf.js';
export { CriCallError, ProtobufError, GrpcStatus, GRPC_STATUS_NAMES } from './errors.js';
