import { performance } from 'node:perf_hooks';
import type { Channel } from './channel.js';

/** The clock channels run on: monotonic milliseconds. */
export const monotonicNow = (): number => performance.now();

/**
 * What a ChannelTimer drives: a Channel, or the owner of one that adds a
 * deadline of its own (a call timeout), so that one timer serves both.
 */
export type Ticking = Pick<Channel, 'deadline' | 'closed' | 'tick'>;

/**
 * Drives one channel with a real timer: wakes at `channel.deadline`, ticks,
 * re-arms, and stops by itself once the channel is closed. One timer per
 * open channel; `stop()` when the conversation ends.
 */
export class ChannelTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly channel: Ticking) {
    this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    // Whole milliseconds: Node keeps one timer list per distinct delay, so
    // fractional delays would cost every channel a list of its own, while
    // whole ones (mostly the heartbeat itself) share one. Rounding up never
    // fires before the deadline.
    const delay = Math.max(0, Math.ceil(this.channel.deadline - monotonicNow()));
    this.timer = setTimeout(this.fire, delay);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.channel.tick(monotonicNow());
    if (!this.channel.closed) this.arm();
  };
}
