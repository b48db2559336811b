import type { Clock, ClockTimer } from '@zrpc/core';
import type { Router } from 'zeromq';

/**
 * Bytes ZeroMQ may hold for one peer in its pipe (in this process, outside
 * the send budgets): the pipe's limit is counted in messages, and set from
 * this and the size of the largest message being sent (see `PipeLimit`).
 */
export const PIPE_BYTES = 16 * 1024 * 1024;
/** How long the limit stays lowered after the last large message went out. */
export const RAISE_AFTER_MS = 250;

const raiseDue = (limit: PipeLimit): void => limit.raise();

/**
 * The ROUTER's send high-water mark: how many messages ZeroMQ queues per
 * peer before it refuses more for that peer (the socket is `mandatory`:
 * EAGAIN, and the outbox keeps the rest, counted in bytes). ZeroMQ counts
 * messages, not bytes, so one limit cannot fit both a stream of small
 * items, which needs room (ZeroMQ's I/O thread says a pipe has room again
 * only every half limit: a pipe of 128 was found full and waited on all the
 * time, and a stream ran at two thirds of its speed at 1000) and large
 * replies to a client that does not read them (128 of 1 MiB held 128 MiB).
 *
 * So the limit follows what is sent: `max` (1000 by default) while messages
 * are small; before a message of `size` bytes goes to ZeroMQ, no more than
 * `PIPE_BYTES / size` (at least 1), for every peer (ZeroMQ applies a new
 * limit to the pipes it has; a pipe that holds more refuses until it has
 * drained below it). Any peer's pipe thus holds at most about `PIPE_BYTES`
 * of large messages. The limit goes back to `max` once no large message has
 * gone out for `RAISE_AFTER_MS`, and the next large message lowers it
 * first. (A pipe ZeroMQ found full takes more only once its reader has
 * read some: raising the limit does not make a peer that does not read
 * take more.)
 */
export class PipeLimit {
  /** The limit now. */
  private current: number;
  /** Messages at least this large lower the limit. */
  private readonly largeBytes: number;
  private lastLargeAt = 0;
  private raiseTimer: ClockTimer | undefined;

  constructor(
    private readonly socket: Pick<Router, 'sendHighWaterMark' | 'closed'>,
    /** The limit while messages are small: the socket's own, as configured. */
    readonly max: number,
    private readonly clock: Clock,
  ) {
    this.current = max;
    this.largeBytes = max > 0 ? PIPE_BYTES / max : Number.POSITIVE_INFINITY;
  }

  /** Called before a message of `size` bytes is handed to ZeroMQ. */
  before(size: number): void {
    if (size < this.largeBytes) return;
    this.lastLargeAt = this.clock.now();
    const fits = Math.max(1, Math.floor(PIPE_BYTES / size));
    if (fits < this.current) this.set(fits);
    this.raiseTimer ??= this.later(RAISE_AFTER_MS);
  }

  /** Stop the timer that would raise the limit (the socket is closing). */
  close(): void {
    this.clock.clearTimeout(this.raiseTimer);
    this.raiseTimer = undefined;
  }

  /** The limit now (the socket's send high-water mark). */
  get limit(): number {
    return this.current;
  }

  /** Once quiet for `RAISE_AFTER_MS`, back to `max`. */
  raise(): void {
    this.raiseTimer = undefined;
    const quietFor = this.clock.now() - this.lastLargeAt;
    if (quietFor < RAISE_AFTER_MS) {
      this.raiseTimer = this.later(RAISE_AFTER_MS - quietFor);
      return;
    }
    this.set(this.max);
  }

  private later(ms: number): ClockTimer {
    const timer = this.clock.setTimeout(raiseDue, ms, this);
    // It keeps no process alive: raising the limit matters only while sends go on.
    timer.unref();
    return timer;
  }

  private set(limit: number): void {
    if (this.socket.closed) return;
    this.current = limit;
    this.socket.sendHighWaterMark = limit;
  }
}
