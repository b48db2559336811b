import type { Clock } from '@zrpc/core';
import { type CallContext, type CallStatus, type Observers, ranNone, statusOf } from '@zrpc/core';

/**
 * One call's `CallEnd` in the making, made only when the client has
 * observers. Every attempt of the call (a resend after a server refused or
 * was lost) adds to it; the first `end` reports it, later ones are no-ops,
 * so the paths that fail a call before any attempt (a closed client, no
 * server in time) can report it too.
 */
export class CallReport {
  /** The endpoint of the server that had the call last (`''`: none did). */
  peer = '';
  bytesIn = 0;
  bytesOut = 0;
  /** Whether a request of the call left this process. */
  sent = false;
  stream = false;
  ctx: CallContext | undefined;
  private readonly startedAt: number;
  private reported = false;

  constructor(
    private readonly observers: Observers,
    readonly method: string,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
  }

  end(error: unknown, status: CallStatus = statusOf(error)): void {
    if (this.reported) return;
    this.reported = true;
    this.observers.notify({
      side: 'client',
      method: this.method,
      peer: this.peer,
      status,
      durationMs: this.clock.now() - this.startedAt,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      // Unless the server said it ran none of it, a request that left may have run.
      ran: this.sent && !ranNone(error),
      stream: this.stream,
      error,
      ctx: this.ctx,
    });
  }
}
