import type { Clock, ClockTimer } from '@zrpc/core';
import type { Logger } from './options.js';

/** Bad input is logged at most this often, however fast it arrives. */
export const BAD_INPUT_LOG_INTERVAL_MS = 5000;

/**
 * Counts what the network sent that the server had to ignore, and writes
 * one summary line at most every `intervalMs` (the first at once, then the
 * counts gathered meanwhile): a peer flooding garbage must not turn into a
 * log line per frame.
 */
export class BadInputLog {
  private readonly pending = new Map<string, number>();
  private lastDetail = '';
  private lastWrite = Number.NEGATIVE_INFINITY;
  private timer: ClockTimer | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly intervalMs = BAD_INPUT_LOG_INTERVAL_MS,
  ) {}

  note(kind: string, detail: string): void {
    this.pending.set(kind, (this.pending.get(kind) ?? 0) + 1);
    this.lastDetail = detail;
    if (this.timer !== undefined) return;
    const wait = this.lastWrite + this.intervalMs - this.clock.now();
    if (wait <= 0) {
      this.flush();
    } else {
      this.timer = this.clock.setTimeout(flushDue, wait, this);
      this.timer.unref();
    }
  }

  /** Write what was counted since the last line, if anything. */
  flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const counts = [...this.pending].map(([kind, n]) => `${n} ${kind}`).join(', ');
    this.logger.warn(`zrpc server ignored bad input: ${counts} (last: ${this.lastDetail})`);
    this.pending.clear();
    this.lastWrite = this.clock.now();
  }
}

const flushDue = (log: BadInputLog): void => log.flush();
