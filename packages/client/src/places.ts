import type { ChannelTimer, ChannelTimers } from '@zrpc/core/protocol';

/** Why a caller stopped waiting for a place: its acquire timeout, or its signal's reason. */
export type GaveUp = { timedOut: true } | { timedOut: false; reason: unknown };

/**
 * A caller waiting for a place, in line. It is its own timer's channel
 * (the acquire timeout, on the client's timer wheel) and its signal's
 * listener: no closure, no timer of its own per waiting call.
 */
class Waiter {
  closed = false;
  private timer: ChannelTimer | undefined;
  resolve!: () => void;
  reject!: (why: GaveUp) => void;

  constructor(
    private readonly places: Places,
    readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Wait in line until lent a place (resolves), the deadline, or an abort (rejects). */
  wait(timers: ChannelTimers): Promise<void> {
    const waiting = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = timers.start(this);
    this.signal?.addEventListener('abort', this);
    return waiting;
  }

  /** Lent a place. */
  lend(): void {
    this.stop();
    this.resolve();
  }

  /** The timer wheel: the acquire timeout. */
  tick(now: number): void {
    if (now >= this.deadline) this.giveUp({ timedOut: true });
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.giveUp({ timedOut: false, reason: this.signal!.reason });
  }

  private giveUp(why: GaveUp): void {
    if (this.closed) return;
    this.stop();
    this.places.left(this);
    this.reject(why);
  }

  private stop(): void {
    this.closed = true;
    this.timer?.stop();
    this.signal?.removeEventListener('abort', this);
  }
}

/**
 * The places of a pool: rights to one call in flight each, at most `max`
 * lent at once, given to waiting callers first in, first out. Taking a free
 * place is synchronous (no promise); only a caller that must wait gets one,
 * with its acquire timeout on the client's timer wheel.
 */
export class Places {
  /** Places lent now (calls in flight). */
  lent = 0;
  /** The most ever lent at once: the places "made" (back to 0 once closed). */
  made = 0;
  /** Callers in line (some may have given up: see `waiting`). */
  private line: Waiter[] = [];
  private head = 0;
  /** Callers in line that have not given up. */
  waiting = 0;
  private drained: Array<() => void> = [];

  constructor(
    readonly max: number,
    private readonly timers: ChannelTimers,
  ) {}

  /** Take a free place now, if one is free and nobody waits before us. */
  take(): boolean {
    if (this.lent >= this.max || this.waiting > 0) return false;
    if (++this.lent > this.made) this.made = this.lent;
    return true;
  }

  /**
   * Wait in line for a place, up to `timeoutMs`; rejects with a `GaveUp`
   * when the time is up or `signal` aborts (at once if it already has).
   */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject({ timedOut: false, reason: signal.reason });
    const waiter = new Waiter(this, this.timers.clock.now() + timeoutMs, signal);
    this.line.push(waiter);
    this.waiting++;
    return waiter.wait(this.timers);
  }

  /** A call ended: its place goes to the first caller in line, else back. */
  giveBack(): void {
    for (let next = this.next(); next !== undefined; next = this.next()) {
      if (next.closed) continue;
      this.waiting--;
      next.lend();
      return;
    }
    this.lent--;
    if (this.lent === 0) for (const wake of this.drained.splice(0)) wake();
  }

  /** `waiter` gave up: it leaves the line (lazily: it is skipped when its turn comes). */
  left(_waiter: Waiter): void {
    this.waiting--;
    if (this.waiting === 0) this.compact();
  }

  /** Resolves once no place is lent. */
  idle(): Promise<void> {
    if (this.lent === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private next(): Waiter | undefined {
    if (this.head === this.line.length) return undefined;
    const waiter = this.line[this.head]!;
    this.line[this.head++] = undefined as unknown as Waiter;
    if (this.head === this.line.length || (this.head > 1024 && this.head * 2 > this.line.length)) {
      this.compact();
    }
    return waiter;
  }

  /** Drop the line's taken and given-up entries. */
  private compact(): void {
    this.line = this.line.slice(this.head).filter((waiter) => !waiter.closed);
    this.head = 0;
  }
}
