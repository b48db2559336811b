import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { type CallStatus, errorName, statusOf } from '@zrpc/core';
import { ATTR_ERROR_TYPE, ATTR_RPC_STATUS_CODE } from './attributes.js';

/**
 * Errors that are part of an API rather than failures (a `NotFound`, a
 * validation error): the names the caller sees, or a predicate.
 */
export type ExpectedErrors<C> = readonly string[] | ((error: unknown, ctx: C) => boolean);

/** How a call ended, as its span records it. */
export interface Outcome {
  /** `rpc.status_code`: the call's status in zrpc's vocabulary (`@zrpc/core`'s `CallStatus`). */
  status: CallStatus;
  /** Whether the span's status is `ERROR` (then `error.type` is set). */
  failed: boolean;
  /** `error.type`: the error's name for status `error`, else the status. */
  errorType: string;
  /** The span status description: the error's message. */
  message: string;
}

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
 * The name an error is known by on `side`: on the server, the name its ERR
 * reply carries; on the client, a `RemoteError`'s remote name.
 */
function sideName(error: unknown, side: 'server' | 'client'): string {
  return side === 'client' && isRemoteError(error) ? error.remoteName : errorName(error);
}

/**
 * Make the `expected` option one predicate. A name matches the error's
 * name as the caller sees it, or the remote name a `RemoteError` carries.
 */
export function expectedPredicate<C>(
  expected: ExpectedErrors<C> | undefined,
): (error: unknown, ctx: C) => boolean {
  if (expected === undefined) return () => false;
  if (typeof expected === 'function') {
    return (error, ctx) => {
      try {
        return expected(error, ctx) === true;
      } catch {
        return false; // a failing predicate must not fail the call: the error is recorded
      }
    };
  }
  if (!Array.isArray(expected) || expected.some((name) => typeof name !== 'string')) {
    throw new TypeError('expected must be a list of error names or a predicate');
  }
  const names = new Set(expected);
  return (error) =>
    names.has(errorName(error)) || (isRemoteError(error) && names.has(error.remoteName));
}

/**
 * How a call that ended with `error` is recorded.
 *
 * A client span is an error for every status but `ok` (the conventions'
 * rule for gRPC clients): whatever kept the caller from its answer.
 * A server span is an error only when the server failed: not when the
 * caller caused it (arguments that do not fit, an `expected` error), as
 * gRPC leaves `INVALID_ARGUMENT` and `NOT_FOUND` unset on server spans.
 */
export function outcomeOf(error: unknown, side: 'server' | 'client', expected: boolean): Outcome {
  const status = statusOf(error);
  const failed = !(expected || (side === 'server' && status === 'bad_arguments'));
  return {
    status,
    failed,
    errorType: status === 'error' ? sideName(error, side) : status,
    message: messageOf(error),
  };
}

/**
 * A server call abandoned before it ended: its caller went away or
 * cancelled it, or the server's shutdown cut it short (`reason`, what its
 * signal fired with). Whatever the handler did next reached no one: the
 * status says why it was abandoned, and it is no failure of the server
 * (gRPC leaves `CANCELLED` unset on server spans).
 */
export function abandonedOutcome(reason: unknown): Outcome {
  const status = statusOf(reason);
  return { status, failed: false, errorType: status, message: messageOf(reason) };
}

function messageOf(error: unknown): string {
  if (isRemoteError(error)) return (error as { remoteMessage?: string }).remoteMessage ?? '';
  return error instanceof Error ? error.message : '';
}

/** End `span` as a call that answered. */
export function endOk(span: Span): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, 'ok');
  span.end();
}

/**
 * End `span` as a call with this outcome: `rpc.status_code` always, and
 * for a failure the `ERROR` status with the error's message and `error.type`.
 */
export function endWith(span: Span, outcome: Outcome): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, outcome.status);
  if (outcome.failed) {
    span.setAttribute(ATTR_ERROR_TYPE, outcome.errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
  }
  span.end();
}
