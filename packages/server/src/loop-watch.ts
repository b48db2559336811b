import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './options.js';

/** What `server.stats.loopDelayMs` reports: event-loop delay since the server started listening. */
export interface LoopDelayStats {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Finds handlers that hold the event loop. While the loop is held no
 * heartbeat goes out and no other call is answered: a long enough turn makes
 * callers give up with `LostRemoteError`. Each handler's synchronous run is
 * timed by the call (cheap, and names the method); the loop's delay as a
 * whole is sampled by Node's `monitorEventLoopDelay` for the server's stats.
 */
export class LoopWatch {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    /** A handler turn longer than this (ms) is logged. */
    readonly thresholdMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  get stats(): LoopDelayStats {
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    const h = this.histogram;
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.count ? h.max : 0) };
  }

  /** A handler held the loop for `ms` in one go: say which, and what to do about it. */
  blocked(method: string, ms: number): void {
    this.logger.warn(
      `zrpc server: ${method}() held the event loop for ${Math.round(ms)} ms ` +
        `(threshold ${this.thresholdMs} ms): heartbeats and other calls waited meanwhile; ` +
        `register it with { worker: true } to run it on a worker thread`,
    );
  }
}
