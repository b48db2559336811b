import type { Channel } from './channel.js';
import { type Clock, type ClockTimer, realClock } from './clock.js';

/** The real clock's monotonic milliseconds (what channels run on, unless given another clock). */
export const monotonicNow = (): number => realClock.now();

/**
 * What a ChannelTimer drives: a Channel, or the owner of one that adds a
 * deadline of its own (a call timeout), so that one timer serves both.
 */
export type Ticking = Pick<Channel, 'deadline' | 'closed' | 'tick'>;

/**
 * Timers waiting under one clock timer for the group's deadline, the
 * earliest of theirs. Most of them stop long before it (a call answered in
 * a millisecond, against deadlines a heartbeat or a call timeout away), so
 * a call costs a Set entry, not a setTimeout and a clearTimeout. Members
 * still there when the group is due get timers of their own.
 */
class TimerGroup {
  readonly members = new Set<ChannelTimer>();
  private readonly timer: ClockTimer;

  constructor(
    private readonly timers: ChannelTimers,
    readonly due: number,
  ) {
    this.timer = timers.clock.setTimeout(groupDue, timers.delayUntil(due), this);
  }

  join(member: ChannelTimer): void {
    // An empty group keeps no process alive (see leave).
    if (this.members.size === 0) this.timer.ref();
    this.members.add(member);
  }

  leave(member: ChannelTimer): void {
    this.members.delete(member);
    // Kept rather than cleared, for the next calls to join: unref'd, it
    // holds no process open, and firing empty costs nothing.
    if (this.members.size === 0) this.timer.unref();
  }

  /** Each member still there now waits for its own deadline alone; the group takes no one else. */
  fire(): void {
    this.timers.groupFired(this);
    for (const member of this.members) member.arm();
    this.members.clear();
  }
}

// Timer callbacks that take their object as an argument: no closure per timer.
const groupDue = (group: TimerGroup): void => group.fire();
const timerDue = (timer: ChannelTimer): void => timer.fire();

/**
 * The channel timers of one clock. Servers and clients on the real clock
 * share one (`ChannelTimers.real`), so that calls of all of them join the
 * same groups; one on a fake clock has its own.
 */
export class ChannelTimers {
  /** The timers of the real clock. */
  static readonly real = new ChannelTimers(realClock);

  /** The group new timers join, unless they are due before it. */
  private joinable: TimerGroup | undefined;

  constructor(readonly clock: Clock) {}

  /** The timers of `clock`: the shared real ones for the real clock. */
  static of(clock: Clock | undefined): ChannelTimers {
    return clock === undefined || clock === realClock
      ? ChannelTimers.real
      : new ChannelTimers(clock);
  }

  /** Drive `channel`: tick it at its deadlines until it is closed, or `stop()`. */
  start(channel: Ticking): ChannelTimer {
    return new ChannelTimer(this, channel);
  }

  /** The group a timer due at `deadline` joins. */
  groupFor(deadline: number): TimerGroup {
    if (this.joinable === undefined || deadline < this.joinable.due) {
      this.joinable = new TimerGroup(this, deadline);
    }
    return this.joinable;
  }

  groupFired(group: TimerGroup): void {
    if (this.joinable === group) this.joinable = undefined;
  }

  /** Whole milliseconds until `deadline`, rounded up (never early), at least 0. */
  delayUntil(deadline: number): number {
    // Node keeps one timer list per distinct delay: fractional delays would
    // cost every timer a list of its own, whole ones share a few.
    return Math.max(0, Math.ceil(deadline - this.clock.now()));
  }
}

/**
 * Drives one channel with a timer: wakes at `channel.deadline`, ticks,
 * re-arms, and stops by itself once the channel is closed. One timer per
 * open channel; `stop()` when the conversation ends.
 *
 * A new timer first waits in a `TimerGroup` due no later than its own
 * deadline; only a channel that lives until then gets a timer of its own.
 * The first tick may come one timer hop after the deadline.
 */
export class ChannelTimer {
  private timer: ClockTimer | undefined;
  private group: TimerGroup | undefined;

  constructor(
    private readonly timers: ChannelTimers,
    private readonly channel: Ticking,
  ) {
    this.group = timers.groupFor(channel.deadline);
    this.group.join(this);
  }

  stop(): void {
    this.group?.leave(this);
    this.group = undefined;
    if (this.timer !== undefined) this.timers.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Wait for the channel's deadline alone (first called by the group, then by the timer itself). */
  arm(): void {
    this.group = undefined;
    const { clock } = this.timers;
    this.timer = clock.setTimeout(timerDue, this.timers.delayUntil(this.channel.deadline), this);
  }

  fire(): void {
    this.timer = undefined;
    this.channel.tick(this.timers.clock.now());
    if (!this.channel.closed) this.arm();
  }
}
