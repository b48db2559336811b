import { performance } from 'node:perf_hooks';
import type { Channel } from './channel.js';

/** The clock channels run on: monotonic milliseconds. */
export const monotonicNow = (): number => performance.now();

/**
 * What a ChannelTimer drives: a Channel, or the owner of one that adds a
 * deadline of its own (a call timeout), so that one timer serves both.
 */
export type Ticking = Pick<Channel, 'deadline' | 'closed' | 'tick'>;

/** Timers made in this turn of the event loop and not stopped yet. */
const pending = new Set<ChannelTimer>();
let armScheduled = false;

function armPending(): void {
  armScheduled = false;
  for (const timer of pending) timer.arm();
  pending.clear();
}

/**
 * Drives one channel with a real timer: wakes at `channel.deadline`, ticks,
 * re-arms, and stops by itself once the channel is closed. One timer per
 * open channel; `stop()` when the conversation ends.
 *
 * A timer is first armed at the end of the event-loop turn that made it (see
 * `armPending`): a call that ends within that turn, as most calls a server
 * answers do, never pays for a setTimeout and its clearTimeout. The first
 * tick is at most one turn late, against deadlines a heartbeat away.
 */
export class ChannelTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly channel: Ticking) {
    pending.add(this);
    if (!armScheduled) {
      armScheduled = true;
      setImmediate(armPending);
    }
  }

  stop(): void {
    pending.delete(this);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Wait for the channel's deadline (first called by `armPending`, then by the timer itself). */
  arm(): void {
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
