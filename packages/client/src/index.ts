export type { ClientCallContext, ClientMiddleware } from '@zrpc/core';
export {
  LostRemoteError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  ZrpcError,
} from '@zrpc/core';
export type { Caller } from './caller.js';
export { Client, createClient } from './client.js';
export type { ClientSocketOptions } from './connection.js';
export type { DiscoveryOptions, Resolve } from './discovery.js';
export { dnsResolver, systemResolve } from './discovery.js';
export { AcquireTimeoutError, ClientClosedError, NotConnectedError } from './errors.js';
export { SendTimeoutError } from './events/errors.js';
export type { PublisherOptions } from './events/publisher.js';
export { Publisher } from './events/publisher.js';
export type { PusherOptions } from './events/pusher.js';
export { Pusher } from './events/pusher.js';
export type { EventSenderOptions, SenderCloseOptions } from './events/sender.js';
export type { EventMethods, EventName } from './events/types.js';
export type { StreamCredit } from './exchange-spec.js';
export type { CallOptions, ClientOptions } from './options.js';
export { DEFAULT_CREDIT, REFERENCE_CREDIT } from './options.js';
export type { PoolOptions, PoolStats } from './pool.js';
export { RPCClient } from './pool.js';
export type { ServerState, ServerStats } from './servers.js';
export { RemoteStream } from './stream.js';
export type {
  CallResult,
  MethodName,
  RemoteMethods,
  Reply,
  StreamItem,
  StreamName,
  UntypedApi,
} from './types.js';
