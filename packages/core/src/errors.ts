/**
 * The errors zrpc raises. Each has a stable `name` so that callers can tell
 * them apart without `instanceof` across package copies.
 */

/** Base class of every error zrpc raises itself. */
export class ZrpcError extends Error {
  override name = 'ZrpcError';
}

/** Bytes or events that do not follow the zerorpc v3 wire protocol. */
export class ProtocolError extends ZrpcError {
  override name = 'ProtocolError';
}

/** A middleware broke the chain's contract: it called `next()` twice, or did not wait for it. */
export class MiddlewareError extends ZrpcError {
  override name = 'MiddlewareError';
}

/**
 * The remote side answered `ERR [name, message, traceback]`.
 * `remoteName` is the error's name on the remote side (`ValueError`, `NameError`...).
 */
export class RemoteError extends ZrpcError {
  override name = 'RemoteError';
  constructor(
    readonly remoteName: string,
    readonly remoteMessage: string,
    readonly traceback: string = '',
  ) {
    super(remoteMessage ? `${remoteName}: ${remoteMessage}` : remoteName);
  }
}

/** The remote stopped heart-beating for two heartbeat intervals. */
export class LostRemoteError extends ZrpcError {
  override name = 'LostRemoteError';
  constructor(
    readonly heartbeatMs: number,
    /** Default: the reference's wording, `Lost remote after 10s heartbeat`. */
    message = `Lost remote after ${(heartbeatMs * 2) / 1000}s heartbeat`,
  ) {
    super(message);
  }
}

/** The remote is alive but did not answer within the call's timeout. */
export class TimeoutError extends ZrpcError {
  override name = 'TimeoutError';
  constructor(
    readonly timeoutMs: number,
    readonly method?: string,
  ) {
    super(
      method === undefined
        ? `timeout after ${timeoutMs / 1000}s`
        : `timeout after ${timeoutMs / 1000}s, when calling remote method ${method}`,
    );
  }
}

/**
 * The arguments of a request do not fit its method (wrong count, not an
 * array). It travels as Python's `TypeError`, as the reference server's
 * does; on the server its status is `bad_arguments`.
 */
export class ArgumentsError extends TypeError {
  override name = 'TypeError';
  readonly zrpcStatus = 'bad_arguments';
}

/**
 * Whether `error` is a `RemoteError`, told by its name and its
 * `remoteName` rather than `instanceof`, so that one made by another copy
 * of @zrpc/core counts too.
 */
export function isRemoteError(error: unknown): error is RemoteError {
  return (
    error instanceof Error &&
    error.name === 'RemoteError' &&
    typeof (error as Partial<RemoteError>).remoteName === 'string'
  );
}
