import { errorName } from '@zrpc/core';

/** Sentry's canonical span status messages that a zrpc call can end with. */
export type CallStatus =
  | 'cancelled'
  | 'deadline_exceeded'
  | 'internal_error'
  | 'invalid_argument'
  | 'resource_exhausted'
  | 'unavailable';

/**
 * Errors that are part of an API rather than crashes (a `NotFound`, a
 * validation error): the names the caller sees, or a predicate.
 */
export type ExpectedErrors<C> = readonly string[] | ((error: unknown, ctx: C) => boolean);

/** How a failed call is recorded. */
export interface Failure {
  /** The span's status message. */
  status: CallStatus;
  /** The error's name on this side of the call (`error.type`). */
  name: string;
  /** Whether it is a crash worth an event (the server captures these). */
  crash: boolean;
}

/**
 * Conditions of the transport and of load, by error name: a span status,
 * never a crash. Names, not classes, so that copies of the packages agree.
 */
const CONDITIONS: Readonly<Record<string, CallStatus>> = {
  LostRemoteError: 'unavailable',
  PeerGoneError: 'unavailable',
  TimeoutError: 'deadline_exceeded', // also the DOMException of AbortSignal.timeout()
  NotConnectedError: 'deadline_exceeded',
  AcquireTimeoutError: 'deadline_exceeded',
  ServerBusyError: 'resource_exhausted',
  TooManyChannelsError: 'resource_exhausted',
  ServerClosingError: 'unavailable',
  ServerDrainingError: 'unavailable',
  ClientClosedError: 'cancelled',
  AbortError: 'cancelled',
};

interface RemoteErrorLike {
  name: 'RemoteError';
  remoteName: string;
}

function isRemoteError(error: unknown): error is RemoteErrorLike {
  return (
    error instanceof Error &&
    error.name === 'RemoteError' &&
    typeof (error as Partial<RemoteErrorLike>).remoteName === 'string'
  );
}

/**
 * The name an error is known by on `side`. On the server that is the name
 * its ERR reply carries (what the caller will see); on the client a
 * `RemoteError` is known by the remote name it carries.
 */
export function sideName(error: unknown, side: 'server' | 'client'): string {
  return side === 'client' && isRemoteError(error) ? error.remoteName : errorName(error);
}

/**
 * Make the `expected` option one predicate. A name matches the error's
 * name as the caller sees it, or, for a `RemoteError` passed on from a
 * call further down, the remote name it carries.
 */
export function expectedPredicate<C>(
  expected: ExpectedErrors<C> | undefined,
): (error: unknown, ctx: C) => boolean {
  if (expected === undefined) return () => false;
  if (typeof expected === 'function') return expected;
  if (!Array.isArray(expected) || expected.some((name) => typeof name !== 'string')) {
    throw new TypeError('expected must be a list of error names or a predicate');
  }
  const names = new Set(expected);
  return (error) =>
    names.has(errorName(error)) || (isRemoteError(error) && names.has(error.remoteName));
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
  // A RemoteError passed on from further down is judged by what it carries.
  const condition = CONDITIONS[isRemoteError(error) ? error.remoteName : errorName(error)];
  if (condition !== undefined) return { status: condition, name, crash: false };
  if (expected) return { status: 'invalid_argument', name, crash: false };
  return { status: 'internal_error', name, crash: side === 'server' };
}
