import { errorName } from './err-args.js';

/*
 * How a call ended, in one closed vocabulary that every part of zrpc uses:
 * the server's stats and log, the client's retries, @zrpc/sentry's span
 * status, metrics labels. A status is read from an error by its name, never
 * by `instanceof`, so that two copies of the packages (or a zerorpc-python
 * peer's ERR) agree; this file holds the only table of those names.
 */

/** How a call ended. */
export type CallStatus =
  /** Answered: OK, or a stream that ended with STREAM_DONE. */
  | 'ok'
  /** The handler (or a middleware) threw. */
  | 'error'
  /** No such method: refused before it ran. */
  | 'unknown_method'
  /** The method exists but the arguments do not fit it: refused before it ran. */
  | 'bad_arguments'
  /** Every slot and the queue were full (or a fairer claim pushed it out): refused. */
  | 'refused_busy'
  /** Its peer already held as many open calls as one peer may: refused. */
  | 'refused_peer_limit'
  /**
   * The server was shutting down: refused before it ran (`ServerDrainingError`),
   * or cut short at the end of its grace period (`ServerClosingError`).
   */
  | 'refused_closing'
  /** The other side went away (heartbeats lapsed, its connection dropped). */
  | 'lost'
  /** Given up by the caller: an abort, a stream left early, a closed client. */
  | 'cancelled'
  /** No answer within the call's timeout (or no server, or no place in a pool, in time). */
  | 'timed_out'
  /** Bytes or events that break the protocol, or a reply over a send budget. */
  | 'protocol_error';

/** Every status, in a stable order (for metrics that list them, say). */
export const CALL_STATUSES: readonly CallStatus[] = Object.freeze([
  'ok',
  'error',
  'unknown_method',
  'bad_arguments',
  'refused_busy',
  'refused_peer_limit',
  'refused_closing',
  'lost',
  'cancelled',
  'timed_out',
  'protocol_error',
]);

/**
 * Error names, as they travel in an ERR reply (or as a local error is
 * named), and the status each stands for. A name not listed is `error`:
 * whatever a handler threw.
 */
const STATUS_BY_NAME: Readonly<Record<string, CallStatus>> = Object.freeze({
  // The reference server's names for a request it cannot run.
  NameError: 'unknown_method',
  // Refusals of a zrpc server (see @zrpc/server's errors).
  ServerBusyError: 'refused_busy',
  TooManyChannelsError: 'refused_peer_limit',
  ServerDrainingError: 'refused_closing',
  ServerClosingError: 'refused_closing',
  // Given up by the caller (on the server: `_zpc_cancel`), or by a closed client.
  CancelledByClientError: 'cancelled',
  ClientClosedError: 'cancelled',
  AbortError: 'cancelled', // an AbortSignal's default reason
  LostRemoteError: 'lost',
  PeerGoneError: 'lost',
  TimeoutError: 'timed_out', // also the DOMException of AbortSignal.timeout()
  NotConnectedError: 'timed_out',
  AcquireTimeoutError: 'timed_out',
  ProtocolError: 'protocol_error',
  SendBudgetError: 'protocol_error',
  MiddlewareError: 'error',
});

/**
 * The name a zrpc server gives each refusal in its ERR reply (what
 * `statusOf` reads back on the client). `bad_arguments` travels as Python's
 * `TypeError`, as the reference server's does, so on the client a remote
 * `TypeError` reads as `error`: only the server knows it was the arguments.
 */
export const ERROR_NAME_OF_STATUS: Readonly<Partial<Record<CallStatus, string>>> = Object.freeze({
  unknown_method: 'NameError',
  bad_arguments: 'TypeError',
  refused_busy: 'ServerBusyError',
  refused_peer_limit: 'TooManyChannelsError',
  refused_closing: 'ServerDrainingError',
  protocol_error: 'ProtocolError',
});

/**
 * The status a call that ended with `error` has (`undefined`: `ok`). A
 * `RemoteError` (the other side's ERR) is read by the name it carries; an
 * error that says its own `zrpcStatus` (`ArgumentsError`, which travels as
 * `TypeError`) by that.
 */
export function statusOf(error: unknown): CallStatus {
  if (error === undefined) return 'ok';
  const own = (error as { zrpcStatus?: unknown } | null)?.zrpcStatus;
  if (typeof own === 'string' && STATUS_NAMES.has(own)) return own as CallStatus;
  return STATUS_BY_NAME[nameOf(error)] ?? 'error';
}

/** The name `error` goes by: a `RemoteError`'s is the one it carries. */
function nameOf(error: unknown): string {
  const { name, remoteName } = (error ?? {}) as { name?: unknown; remoteName?: unknown };
  if (name === 'RemoteError' && typeof remoteName === 'string') return remoteName;
  return errorName(error);
}

/**
 * Whether a call with this status was turned away by the server: never
 * run, except a `refused_closing` call that a shutdown cut short (see
 * `ranNone`).
 */
export function isRefusal(status: CallStatus): boolean {
  return REFUSALS.has(status);
}

/**
 * Whether `error` says the server ran none of the call (it refused it):
 * such a call may be sent to another server whether or not it is
 * idempotent. A `ServerClosingError` is a call a shutdown cut short: it ran.
 */
export function ranNone(error: unknown): boolean {
  const status = statusOf(error);
  return isRefusal(status) && nameOf(error) !== 'ServerClosingError';
}

const REFUSALS: ReadonlySet<CallStatus> = new Set<CallStatus>([
  'unknown_method',
  'bad_arguments',
  'refused_busy',
  'refused_peer_limit',
  'refused_closing',
]);

const STATUS_NAMES: ReadonlySet<string> = new Set(CALL_STATUSES);
