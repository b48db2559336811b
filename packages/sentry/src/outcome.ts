import { type CallStatus, errorName, isRemoteError, statusOf } from '@zrpc/core';

/** Sentry's canonical span status messages that a zrpc call can end with. */
export type SpanStatus =
  | 'cancelled'
  | 'deadline_exceeded'
  | 'internal_error'
  | 'invalid_argument'
  | 'resource_exhausted'
  | 'unavailable'
  | 'unimplemented';

/** How a failed call is recorded. */
export interface Failure {
  /** The span's status message. */
  status: SpanStatus;
  /** The error's name on this side of the call (`error.type`). */
  name: string;
  /** Whether it is a crash worth an event (the server captures these). */
  crash: boolean;
}

/**
 * The span status of each call status (core's vocabulary) but `ok` and
 * `error`: conditions of the transport and of load, and refusals, never
 * crashes.
 */
const CONDITIONS: Readonly<Partial<Record<CallStatus, SpanStatus>>> = {
  unknown_method: 'unimplemented',
  bad_arguments: 'invalid_argument',
  refused_busy: 'resource_exhausted',
  refused_peer_limit: 'resource_exhausted',
  refused_closing: 'unavailable',
  lost: 'unavailable',
  cancelled: 'cancelled',
  timed_out: 'deadline_exceeded',
  protocol_error: 'internal_error',
};

/**
 * The name an error is known by on `side`. On the server that is the name
 * its ERR reply carries (what the caller will see); on the client a
 * `RemoteError` is known by the remote name it carries.
 */
export function sideName(error: unknown, side: 'server' | 'client'): string {
  return side === 'client' && isRemoteError(error) ? error.remoteName : errorName(error);
}

/**
 * How a call that failed with `error` is recorded. `cancelled` says the
 * error is the call's own abandonment (a lost caller, a shutdown), which is
 * never a crash; `expected` is the user's verdict.
 */
export function failureOf(
  error: unknown,
  side: 'server' | 'client',
  expected: boolean,
  cancelled = false,
): Failure {
  const name = sideName(error, side);
  if (cancelled) return { status: 'cancelled', name, crash: false };
  // A RemoteError (passed on from further down, on the server) is judged by the name it carries.
  const condition = CONDITIONS[statusOf(error)];
  if (condition !== undefined) return { status: condition, name, crash: false };
  if (expected) return { status: 'invalid_argument', name, crash: false };
  return { status: 'internal_error', name, crash: side === 'server' };
}
