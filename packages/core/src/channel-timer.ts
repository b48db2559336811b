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
 * Timers made in one turn of the event loop, waiting under one Node timer
 * for the earliest of their deadlines. Most of them stop long before (a
 * call answered in a millisecond, against deadlines a heartbeat or a call
 * timeout away): the group's timer is cleared when its last member stops,
 * so those calls never pay for a setTimeout and a clearTimeout each.
 */
class TimerGroup {
  readonly members = new Set<ChannelTimer>();
  private timer: NodeJS.Timeout | undefined;

  /** Wait for the earliest deadline of the members. */
  start(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const member of this.members) earliest = Math.min(earliest, member.deadline);
    this.timer = setTimeout(groupDue, delayUntil(earliest), this);
  }

  leave(member: ChannelTimer): void {
    this.members.delete(member);
    if (this.members.size === 0) clearTimeout(this.timer);
  }

  /** A member is due: each member still there now waits for its own deadline alone. */
  due(): void {
    for (const member of this.members) member.arm();
    this.members.clear();
  }
}

// Timer callbacks that take their object as an argument: no closure per timer.
const groupDue = (group: TimerGroup): void => group.due();
const timerDue = (timer: ChannelTimer): void => timer.fire();

/** The group of the timers made in the current turn; it starts at the end of the turn. */
let forming: TimerGroup | undefined;

function startForming(): void {
  const group = forming!;
  forming = undefined;
  if (group.members.size > 0) group.start();
}

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
 * A new timer first waits in the group of its event-loop turn (see
 * `TimerGroup`); only a channel that lives to its first deadline gets a Node
 * timer of its own. A call answered within the turn that made it (most
 * calls a server answers) costs no Node timer at all. The first tick may
 * come up to one timer hop late, against deadlines a heartbeat away.
 */
export class ChannelTimer {
  private timer: NodeJS.Timeout | undefined;
  private group: TimerGroup | undefined;

  constructor(private readonly channel: Ticking) {
    if (forming === undefined) {
      forming = new TimerGroup();
      setImmediate(startForming);
    }
    this.group = forming;
    forming.members.add(this);
  }

  get deadline(): number {
    return this.channel.deadline;
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
