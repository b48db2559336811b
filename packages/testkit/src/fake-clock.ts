import { setImmediate as nextTurn } from 'node:timers/promises';

/** A timer of a `FakeClock`: fires when the test moves time past `due`. */
export class FakeTimer {
  /** Whether it would hold a real process open (`ref`/`unref` are recorded, nothing more). */
  refed = true;
  cleared = false;

  constructor(
    readonly due: number,
    /** Order among timers due at the same time: set first, fired first. */
    readonly seq: number,
    readonly fire: () => void,
  ) {}

  ref(): this {
    this.refed = true;
    return this;
  }

  unref(): this {
    this.refed = false;
    return this;
  }
}

/** What `sleepOnClock` needs of a clock: a `FakeClock`, or @zrpc/core's `Clock`. */
export interface TimerClock {
  setTimeout(fn: (arg: undefined) => void, ms: number, arg: undefined): unknown;
  clearTimeout(timer: any): void;
}

/**
 * Resolves `ms` from now on `clock`, or rejects with the signal's reason if
 * it fires first (a handler's `callSignal()`, say). For handlers that stand
 * for slow work in tests, on a fake clock or the real one.
 */
export function sleepOnClock(clock: TimerClock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      undefined,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A clock whose time moves only when the test says so: the `Clock` of
 * `@zrpc/core` (servers and clients take one as their `clock` option), for
 * tests of heartbeats, timeouts, grace periods and backoff that would
 * otherwise sleep for real. Timers fire in the order of their due time,
 * each with `now()` at that time.
 */
export class FakeClock {
  private time: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start = 1000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): FakeTimer {
    const timer = new FakeTimer(this.time + Math.max(0, ms), this.seq++, () => fn(arg));
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(timer: FakeTimer | undefined): void {
    if (timer === undefined) return;
    timer.cleared = true;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): readonly FakeTimer[] {
    return this.timers;
  }

  /** When the next timer is due (undefined: none is). */
  get nextDue(): number | undefined {
    return this.next()?.due;
  }

  /**
   * Move time forward by `ms`, firing every timer due meanwhile (timers
   * they set included), each at its own due time; synchronous: promises
   * they start settle after.
   */
  advance(ms: number): void {
    const until = this.time + ms;
    let fired = 0;
    for (let timer = this.next(); timer !== undefined && timer.due <= until; timer = this.next()) {
      this.fireTimer(timer, ++fired);
    }
    this.time = until;
  }

  /**
   * Like `advance`, but lets the event loop turn after each timer fires
   * (and before the first), so that what a timer starts over real sockets
   * and promises goes on before the next one fires.
   */
  async advanceAsync(ms: number, turns = 2): Promise<void> {
    const until = this.time + ms;
    await settle(turns);
    let fired = 0;
    for (let timer = this.next(); timer !== undefined && timer.due <= until; timer = this.next()) {
      this.fireTimer(timer, ++fired);
      await settle(turns);
    }
    this.time = until;
  }

  /**
   * Move time forward in steps of `stepMs` (letting the event loop turn at
   * each) until `condition()` holds; throws after `maxMs` of fake time.
   * For conditions that real I/O decides (a reply over a socket).
   */
  async advanceUntil(condition: () => boolean, maxMs: number, stepMs = 10): Promise<void> {
    for (let moved = 0; !condition(); moved += stepMs) {
      if (moved >= maxMs) throw new Error(`not true after ${maxMs} ms of fake time`);
      await this.advanceAsync(stepMs);
    }
  }

  /**
   * Move time forward in steps of `stepMs` (letting the event loop turn at
   * each) until `promise` settles, and answer its outcome: for what waits on
   * this clock and on real I/O at once (a server closing, a call timing
   * out over a socket). Fails after `maxMs` of fake time, or `realMs` of
   * real time (a bound against hangs).
   */
  async run<T>(
    promise: Promise<T>,
    options: { stepMs?: number; maxMs?: number; realMs?: number } = {},
  ): Promise<T> {
    const { stepMs = 10, maxMs = Number.POSITIVE_INFINITY, realMs = 10_000 } = options;
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const realDeadline = Date.now() + realMs;
    for (let moved = 0; !(await settledYet(() => settled)); moved += stepMs) {
      if (moved >= maxMs) throw new Error(`still pending after ${maxMs} ms of fake time`);
      if (Date.now() > realDeadline)
        throw new Error(`still pending after ${realMs} ms of real time`);
      await this.advanceAsync(stepMs);
    }
    return promise;
  }

  /**
   * Resolves `ms` from now on this clock; rejects with the signal's reason
   * if it fires first (a handler's `callSignal()`, say). For handlers that
   * stand for slow work in tests on this clock.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnClock(this, ms, signal);
  }

  private next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const timer of this.timers) {
      if (
        best === undefined ||
        timer.due < best.due ||
        (timer.due === best.due && timer.seq < best.seq)
      ) {
        best = timer;
      }
    }
    return best;
  }

  private fireTimer(timer: FakeTimer, fired: number): void {
    // Real timers re-arming themselves for the same moment only spin; fake
    // ones would hang the test here, in one synchronous loop: fail instead.
    if (fired > MAX_TIMERS_PER_ADVANCE) {
      throw new Error(
        `over ${MAX_TIMERS_PER_ADVANCE} timers fired in one move of time (at ${this.time} ms): a timer that keeps re-arming itself for now?`,
      );
    }
    this.timers = this.timers.filter((t) => t !== timer);
    this.time = Math.max(this.time, timer.due);
    timer.fire();
  }
}

/** Whether `settled()` holds once promise callbacks queued so far have run. */
async function settledYet(settled: () => boolean): Promise<boolean> {
  await Promise.resolve();
  return settled();
}

/** More than this in one `advance` is taken for a timer re-arming itself forever. */
const MAX_TIMERS_PER_ADVANCE = 100_000;

async function settle(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}
