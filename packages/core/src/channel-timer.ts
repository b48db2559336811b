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
 * Timers waiting under one Node timer for the group's deadline, the
 * earliest of theirs. Most of them stop long before it (a call answered in
 * a millisecond, against deadlines a heartbeat or a call timeout away), so
 * a call costs a Set entry, not a setTimeout and a clearTimeout. Members
 * still there when the group is due get timers of their own.
 */
class TimerGroup {
  readonly members = new Set<ChannelTimer>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly due: number) {
    this.timer = setTimeout(groupDue, delayUntil(due), this);
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
    if (joinable === this) joinable = undefined;
    for (const member of this.members) member.arm();
    this.members.clear();
  }
}

// Timer callbacks that take their object as an argument: no closure per timer.
const groupDue = (group: TimerGroup): void => group.fire();
const timerDue = (timer: ChannelTimer): void => timer.fire();

/** The group new timers join, unless they are due before it. */
let joinable: TimerGroup | undefined;

/** Whole milliseconds until `deadline`, rounded up (never early), at least 0. */
function delayUntil(deadline: number): number {
  // Node keeps one timer list per distinct delay: fractional delays would
  // cost every timer a list of its own, whole ones share a few.
  return Math.max(0, Math.ceil(deadline - monotonicNow()));
}

/**
 * Drives one channel with a real timer: wakes at `channel.deadline`, ticks,
 * re-arms, and stops by itself once the channel is closed. One timer per
 * open channel; `stop()` when the conversation ends.
 *
 * A new timer first waits in a `TimerGroup` due no later than its own
 * deadline; only a channel that lives until then gets a Node timer of its
 * own. The first tick may come one timer hop after the deadline.
 */
export class ChannelTimer {
  private timer: NodeJS.Timeout | undefined;
  private group: TimerGroup | undefined;

  constructor(private readonly channel: Ticking) {
    const deadline = channel.deadline;
    if (joinable === undefined || deadline < joinable.due) joinable = new TimerGroup(deadline);
    this.group = joinable;
    joinable.join(this);
  }

  stop(): void {
    this.group?.leave(this);
    this.group = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Wait for the channel's deadline alone (first called by the group, then by the timer itself). */
  arm(): void {
    this.group = undefined;
    this.timer = setTimeout(timerDue, delayUntil(this.channel.deadline), this);
  }

  fire(): void {
    this.timer = undefined;
    this.channel.tick(monotonicNow());
    if (!this.channel.closed) this.arm();
  }
}
