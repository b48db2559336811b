import { type CallStatus, errorName, isRemoteError, statusOf } from '@zrpc/core';

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

/**
 * The name an error is known by on `side`: on the server, the name its ERR
 * reply carries; on the client, a `RemoteError`'s remote name.
 */
function sideName(error: unknown, side: 'server' | 'client'): string {
  return side === 'client' && isRemoteError(error) ? error.remoteName : errorName(error);
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
  if (isRemoteError(error)) return error.remoteMessage ?? '';
  return error instanceof Error ? error.message : '';
}
