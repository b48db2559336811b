/*
 * @zrpc/core for handler and middleware authors: the middleware contract,
 * the call's context, the errors, the registry, and the address reader both
 * commands share. The protocol machinery (codec, channels, timers, message
 * ids) is `@zrpc/core/protocol`.
 */

export type { Address } from './address.js';
export {
  AddressError,
  endpointHostName,
  HostNotFoundError,
  parseAddrport,
  resolveEndpointHost,
} from './address.js';
export { callSignal, currentCall } from './call-context.js';
export type { CallEnd, CallObserver } from './call-end.js';
export { Observers } from './call-end.js';
export type { Clock, ClockTimer } from './clock.js';
export { errorName } from './err-args.js';
export {
  ArgumentsError,
  isRemoteError,
  LostRemoteError,
  MiddlewareError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  ZrpcError,
} from './errors.js';
export type { EventHeader } from './events.js';
export type { ExpectedErrors } from './expected.js';
export { expectedPredicate } from './expected.js';
export type { ZerorpcHooks } from './hooks.js';
export { fromZerorpcHooks } from './hooks.js';
export type { MessageId } from './message-id.js';
export type {
  CallContext,
  ClientCallContext,
  ClientMiddleware,
  ComposedMiddleware,
  Middleware,
  ServerCallContext,
  ServerMiddleware,
} from './middleware.js';
export { compose, headerText, taskContextOf } from './middleware.js';
export type { ArgSpec, MethodSpec, RegisterOptions, RpcFunction } from './registry.js';
export { arityError, DuplicateMethodError, Registry, rpc } from './registry.js';
export type { CallStatus } from './status.js';
export { CALL_STATUSES, ERROR_NAME_OF_STATUS, isRefusal, ranNone, statusOf } from './status.js';
export { isStream, onStreamEnd } from './stream-end.js';
