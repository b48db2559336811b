import { TimeoutError } from '@zrpc/core';

/**
 * An event could not be handed to ZeroMQ within `sendTimeoutMs`: a Pusher
 * has no puller connected, or every connected puller's queue is at the
 * high-water mark (they do not keep up). The event was not sent.
 */
export class SendTimeoutError extends TimeoutError {
  override name = 'SendTimeoutError';
  /** Read by `statusOf` in @zrpc/core: a timeout. */
  readonly zrpcStatus = 'timed_out';

  constructor(
    timeoutMs: number,
    readonly event: string,
    why: string,
  ) {
    super(timeoutMs);
    this.message = `the event ${event} was not sent: ZeroMQ could not take it within ${timeoutMs / 1000}s (${why})`;
  }
}
