import { TimeoutError, ZrpcError } from '@zrpc/core';

/** The client (or pool) was closed: calls in flight fail with it, new calls too. */
export class ClientClosedError extends ZrpcError {
  override name = 'ClientClosedError';
  constructor() {
    super('the client is closed');
  }
}

/**
 * The call timed out before its request could be handed to any server:
 * none was connected (ZeroMQ only queues to completed connections here).
 */
export class NotConnectedError extends TimeoutError {
  override name = 'NotConnectedError';
  constructor(
    timeoutMs: number,
    method: string,
    readonly endpoints: readonly string[],
  ) {
    super(timeoutMs, method);
    const where = endpoints.length > 0 ? endpoints.join(', ') : 'no endpoint (connect one first)';
    this.message = `${this.message}: no server connected at ${where}`;
  }
}

/** A pool reached its bound on calls in flight and none ended within the acquire timeout. */
export class AcquireTimeoutError extends TimeoutError {
  override name = 'AcquireTimeoutError';
  constructor(
    timeoutMs: number,
    method: string,
    readonly poolSize: number,
  ) {
    super(timeoutMs, method);
    this.message = `no place free in the pool after ${timeoutMs / 1000}s (all ${poolSize} in flight), when calling remote method ${method}`;
  }
}
