import { ServerBusyError } from './errors.js';

interface Waiter {
  grant: () => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * At most `concurrency` slots taken at once (the gevent pool of the
 * reference server); up to `queueLimit` more callers wait their turn in FIFO
 * order. A waiter whose signal aborts leaves the queue; one that finds the
 * queue full is refused at once with a `ServerBusyError`. Each slot taken
 * must be given back with `release()` exactly once.
 */
export class Limiter {
  private active = 0;
  // A Set iterates in insertion order (FIFO) and deletes in O(1) on abort.
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.size;
  }

  /**
   * Take a slot: `true` at once when one is free (the common case, no
   * promise), else a place in the queue that resolves with the slot. Throws
   * `ServerBusyError` when the queue is full; the queued promise rejects with
   * the signal's reason if it aborts first (the signal is read only then: a
   * call makes its signal on demand).
   */
  acquire(call: { readonly signal: AbortSignal }): true | Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return true;
    }
    if (this.waiters.size >= this.queueLimit) {
      throw new ServerBusyError(
        `server busy: ${this.active} calls running and ${this.waiters.size} waiting ` +
          `(concurrency ${this.concurrency}, queueLimit ${this.queueLimit})`,
      );
    }
    const signal = call.signal;
    if (signal.aborted) throw signal.reason;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        signal,
        onAbort: () => {
          this.waiters.delete(waiter);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Give a slot back: the longest waiter, if any, takes it. */
  release(): void {
    const next = this.waiters.values().next();
    if (next.done) {
      this.active--;
      return;
    }
    const waiter = next.value;
    this.waiters.delete(waiter);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.grant();
  }
}
