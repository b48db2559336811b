import type { Clock } from '@zrpc/core';

/**
 * A connection's drops and comebacks, for the calls that must wait while
 * the server at its address is leaving (shutting down, say for a reload):
 * they wait until that connection has dropped and a new one is made, to
 * whoever listens at the address then, rather than be refused too or lost
 * when it drops. Waiting for the new connection, not merely the drop: in
 * the instant after a drop ZeroMQ may still take a message for the
 * connection that is going, and lose it.
 */
export class ServerLeaving {
  /** How many times the connection dropped, as ZeroMQ reported it: the next may reach another server. */
  drops = 0;
  /** Whether ZeroMQ reported a connection made since the last drop. */
  private connected = false;
  /** The drops before the connection whose server said it is leaving (see `said`). */
  private leftAfter = -1;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** ZeroMQ reported a connection made. */
  up(): void {
    this.connected = true;
    this.wakeAll();
  }

  /** ZeroMQ reported the connection dropped. */
  down(): void {
    this.drops++;
    this.connected = false;
  }

  /** The connection closed: every wait ends. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  /**
   * The server reached after `drops` drops (the one a refused request went
   * to) refused a call because it is leaving. (Counted from the request's
   * own send: ZeroMQ reports a connection made later than it may carry
   * requests.)
   */
  said(drops: number): void {
    this.leftAfter = Math.max(this.leftAfter, drops);
  }

  /** Whether the server at the address said it is leaving, and no new connection was made since. */
  get isLeaving(): boolean {
    return this.leftAfter >= 0 && !(this.drops > this.leftAfter && this.connected);
  }

  /**
   * Resolves true once the connection is not `isLeaving` (at once if it is
   * not); false after `ms`, when a signal aborts, or when it closes.
   */
  async whenBack(ms: number, signals: readonly AbortSignal[]): Promise<boolean> {
    let timedOut = false;
    let wake = (): void => {};
    const onAbort = () => wake();
    const timer = this.clock.setTimeout(
      () => {
        timedOut = true;
        wake();
      },
      ms,
      undefined,
    );
    const stopped = () => this.closed || timedOut || signals.some((signal) => signal.aborted);
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Each connection made wakes it; one made before the drop awaited does not end the wait.
      while (this.isLeaving && !stopped()) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        this.waiters.add(wake);
        try {
          await woken;
        } finally {
          this.waiters.delete(wake);
        }
      }
    } finally {
      this.clock.clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    }
    return !this.isLeaving && !this.closed;
  }

  private wakeAll(): void {
    for (const wake of this.waiters) wake();
  }
}
