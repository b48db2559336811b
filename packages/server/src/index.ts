/*
 * @zrpc/server: the Server. The `zrpc-server` runner (autodiscovery, config
 * files, TypeScript at run time) is `@zrpc/server/runner`, so that a compiled
 * production server never loads a TypeScript loader.
 */
export type {
  CallEnd,
  CallObserver,
  CallStatus,
  ServerCallContext,
  ServerMiddleware,
} from '@zrpc/core';
export { callSignal, currentCall, LostRemoteError } from '@zrpc/core';
export type { CurveOptions } from './curve.js';
export { readKeyList, readKeyPair } from './curve.js';
export {
  CancelledByClientError,
  PeerGoneError,
  SendBudgetError,
  ServerBusyError,
  ServerClosingError,
  ServerDrainingError,
  TooManyChannelsError,
} from './errors.js';
export type { EventStats } from './events/event-ends.js';
export type { EventServerOptions } from './events/options.js';
export type { PullerOptions } from './events/puller.js';
export { Puller } from './events/puller.js';
export type { EventCloseOptions } from './events/receiver.js';
export type { SubscriberOptions } from './events/subscriber.js';
export { Subscriber } from './events/subscriber.js';
export type { LoopDelayStats } from './loop-watch.js';
export type { Logger, ServerOptions, ServerSocketOptions } from './options.js';
export type { SendBudget } from './outbox.js';
export type { CloseOptions, ServerState } from './server.js';
export { Server } from './server.js';
export type { ServerStats } from './stats.js';
export type { WorkerStats } from './worker-pool.js';
