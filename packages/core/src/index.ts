export type { Address } from './address.js';
export {
  AddressError,
  endpointHostName,
  HostNotFoundError,
  parseAddrport,
  resolveEndpointHost,
} from './address.js';
export { callSignal, currentCall, runInCall } from './call-context.js';
export type { ChannelOptions, ChannelSink } from './channel.js';
export { Channel, HEARTBEAT, MORE } from './channel.js';
export { ChannelTimer, monotonicNow, type Ticking } from './channel-timer.js';
export type { EventHeader, ZEvent } from './codec.js';
export {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  MAX_DEPTH,
  PROTOCOL_VERSION,
} from './codec.js';
export type { Envelope } from './envelope.js';
export { openEnvelope } from './envelope.js';
export {
  LostRemoteError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  ZrpcError,
} from './errors.js';
export type { ZerorpcHooks } from './hooks.js';
export { fromZerorpcHooks } from './hooks.js';
export type { MessageId } from './message-id.js';
export { MessageIdGenerator, messageIdKey } from './message-id.js';
export type {
  CallContext,
  ClientCallContext,
  ClientMiddleware,
  ComposedMiddleware,
  Middleware,
  ServerCallContext,
  ServerMiddleware,
} from './middleware.js';
export { compose, PROTOCOL_HEADER_KEYS, taskContextOf } from './middleware.js';
export type { ArgSpec, MethodSpec, RegisterOptions, RpcFunction } from './registry.js';
export { arityError, DuplicateMethodError, Registry, rpc } from './registry.js';
export { SendQueue } from './send-queue.js';
