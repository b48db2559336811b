import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/** A promise and the functions that settle it: for handlers and events a test releases itself. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** How often `until` looks again at a condition that nothing announces. */
const POLL_MS = 5;

/**
 * Resolves once `condition()` holds, looking again every few ms of real
 * time (and at once when `changed()`, if given, resolves: a reader's next
 * message, say); rejects after `timeoutMs`. For what real I/O decides (a
 * reply over a socket, a counter the server bumps): a bound against hangs,
 * never a speed assertion, so keep it generous.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'the condition',
  changed?: () => Promise<unknown>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    if (changed === undefined) {
      await sleep(POLL_MS);
      continue;
    }
    // Woken by the change itself: the timer is only a fallback.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      changed(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10 * POLL_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * `promise`'s outcome, or a failure if it takes longer than `ms` of real
 * time: a bound against hangs, not a speed test.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const controller = new AbortController();
  const late = sleep(ms, undefined, { signal: controller.signal, ref: false }).then(() => {
    throw new Error(`${what} took longer than ${ms} ms`);
  });
  late.catch(() => {}); // aborted once `promise` settles
  try {
    return await Promise.race([promise, late]);
  } finally {
    controller.abort();
  }
}

/** The rejection of `promise` (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error) => error,
  );
}

/** Every item of a stream, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Resolves once `count` callers have arrived: each handler awaits
 * `arrive()`, so that calls meant to overlap are all running at once
 * before any of them returns (instead of sleeping and hoping they do).
 */
export function barrier(count: number): { arrive(): Promise<void>; readonly arrived: number } {
  const all = deferred();
  let arrived = 0;
  return {
    arrive() {
      if (++arrived >= count) all.resolve();
      return all.promise;
    },
    get arrived() {
      return arrived;
    },
  };
}

/**
 * Let the event loop turn `n` times (I/O callbacks and timers due run in
 * between): for what promises and queued work finish on their own, with no
 * time passing, where a test would otherwise sleep a few ms.
 */
export async function nextTurns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}
