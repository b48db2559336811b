export type {
  ServerCallContext,
  ServerMiddleware,
} from '@zrpc/core';
export { callSignal, currentCall, LostRemoteError } from '@zrpc/core';
export { ServerBusyError, ServerClosingError, TooManyChannelsError } from './errors.js';
export type { Logger, ServerOptions } from './options.js';
export * from './runner/index.js';
export type { CloseOptions } from './server.js';
export { Server } from './server.js';
export type { ServerStats } from './stats.js';
