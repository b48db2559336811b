import { ServerBusyError } from './errors.js';

/** Gives back a slot; calling it more than once is harmless. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * At most `concurrency` holders at once (the gevent pool of the reference
 * server); up to `queueLimit` more wait their turn in FIFO order. A waiter
 * whose signal aborts leaves the queue; one that finds the queue full is
 * refused at once with a `ServerBusyError`.
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

  acquire(signal: AbortSignal): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.size >= this.queueLimit) {
      return Promise.reject(
        new ServerBusyError(
          `server busy: ${this.active} calls running and ${this.waiters.size} waiting ` +
            `(concurrency ${this.concurrency}, queueLimit ${this.queueLimit})`,
        ),
      );
    }
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

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.wakeNext();
    };
  }

  private wakeNext(): void {
    const next = this.waiters.values().next();
    if (next.done) return;
    const waiter = next.value;
    this.waiters.delete(waiter);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    this.active++;
    waiter.grant(this.releaser());
  }
}
