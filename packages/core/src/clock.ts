import { performance } from 'node:perf_hooks';

/** A timer a `Clock` set: it can stop holding the process open, or start again. */
export interface ClockTimer {
  ref(): unknown;
  unref(): unknown;
}

/**
 * Where zrpc reads the time and sets its timers (heartbeats, call
 * timeouts, grace periods, backoff). Servers and clients take one in their
 * options; the default is the real one. A test passes a fake one
 * (`FakeClock` in the project's testkit) and moves time itself instead of
 * sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds (never goes back; its zero is arbitrary). */
  now(): number;
  /** Call `fn(arg)` once, `ms` from now. */
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: <A>(fn: (arg: A) => void, ms: number, arg: A): ClockTimer => setTimeout(fn, ms, arg),
  clearTimeout: (timer: ClockTimer | undefined) =>
    clearTimeout(timer as NodeJS.Timeout | undefined),
});

/** Resolves `ms` from now on `clock` (the real one: a plain timer that does not hold the process open). */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(resolve, ms, undefined);
    if (clock === realClock) timer.unref();
  });
}
