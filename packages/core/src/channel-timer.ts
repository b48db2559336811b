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
 * The timers due at one moment, as a list threaded through them (joining
 * and leaving allocate nothing). A bucket made for new timers (`early`)
 * takes every timer started until it is due whose deadline is no earlier:
 * most stop long before (a call answered in a millisecond, against
 * deadlines a heartbeat or a call timeout away), and those still there when
 * it is due move to the bucket of their own deadline.
 */
class Bucket {
  /** Its timers, in the order they came. */
  head: ChannelTimer | undefined;
  private tail: ChannelTimer | undefined;
  /** Its place in the wheel's heap; -1 once taken out. */
  index = -1;

  constructor(
    /** Whole milliseconds of the wheel's clock. */
    readonly due: number,
    readonly early: boolean,
  ) {}

  add(timer: ChannelTimer): void {
    timer.bucket = this;
    timer.prev = this.tail;
    timer.next = undefined;
    if (this.tail === undefined) this.head = timer;
    else this.tail.next = timer;
    this.tail = timer;
  }

  remove(timer: ChannelTimer): void {
    if (timer.prev === undefined) this.head = timer.next;
    else timer.prev.next = timer.next;
    if (timer.next === undefined) this.tail = timer.prev;
    else timer.next.prev = timer.prev;
    timer.bucket = timer.prev = timer.next = undefined;
  }
}

// The clock timer's callback takes the wheel as an argument: no closure.
const wheelDue = (timers: ChannelTimers): void => timers.fire();

/**
 * The channel timers of one clock: a wheel of buckets, one per moment some
 * timer is due, under a single clock timer set for the earliest. A call
 * costs an entry in a list, not a setTimeout and a clearTimeout; a
 * thousand open streams cost one clock timer, not a thousand. Servers and
 * clients on the real clock share one (`ChannelTimers.real`); one on a fake
 * clock has its own.
 */
export class ChannelTimers {
  /** The timers of the real clock. */
  static readonly real = new ChannelTimers(realClock);

  /** Buckets by due time, earliest first (a binary heap). */
  private readonly heap: Bucket[] = [];
  /** The buckets of exact deadlines, by due time. */
  private readonly exact = new Map<number, Bucket>();
  /** The bucket new timers join, unless they are due before it. */
  private joinable: Bucket | undefined;
  private timer: ClockTimer | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  /** Timers in buckets: the clock timer holds the process open only while there are some. */
  private live = 0;

  constructor(readonly clock: Clock) {}

  /** The timers of `clock`: the shared real ones for the real clock. */
  static of(clock: Clock | undefined): ChannelTimers {
    return clock === undefined || clock === realClock
      ? ChannelTimers.real
      : new ChannelTimers(clock);
  }

  /** Drive `channel`: tick it at its deadlines until it is closed, or `stop()`. */
  start(channel: Ticking): ChannelTimer {
    const timer = new ChannelTimer(this, channel);
    const due = dueOf(channel.deadline);
    let bucket = this.joinable;
    if (bucket === undefined || bucket.index < 0 || due < bucket.due) {
      bucket = this.joinable = new Bucket(due, true);
      this.push(bucket);
    }
    this.enter(bucket, timer);
    return timer;
  }

  /** The clock timer is due: tick every timer due by now, and set it for the next. */
  fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (let bucket = this.heap[0]; bucket !== undefined && bucket.due <= now; ) {
      this.pop();
      if (bucket === this.joinable) this.joinable = undefined;
      if (!bucket.early) this.exact.delete(bucket.due);
      // One by one from the head: a tick may stop other timers of this bucket.
      for (let timer = bucket.head; timer !== undefined; timer = bucket.head) {
        this.leave(timer);
        if (bucket.early && dueOf(timer.channel.deadline) > now) this.wait(timer, now);
        else timer.fire(now);
      }
      bucket = this.heap[0];
    }
    this.arm();
  }

  /** Take `timer` out of its bucket, if it is in one. */
  remove(timer: ChannelTimer): void {
    if (timer.bucket !== undefined) this.leave(timer);
  }

  /** Put `timer` in the bucket of its channel's deadline (after a tick, or out of an early bucket). */
  wait(timer: ChannelTimer, now: number): void {
    // Never in the past: a deadline that did not move waits a millisecond.
    const due = Math.max(dueOf(timer.channel.deadline), now + 1);
    let bucket = this.exact.get(due);
    if (bucket === undefined) {
      bucket = new Bucket(due, false);
      this.exact.set(due, bucket);
      this.push(bucket);
    }
    this.enter(bucket, timer);
  }

  private enter(bucket: Bucket, timer: ChannelTimer): void {
    bucket.add(timer);
    // An idle wheel keeps no process alive.
    if (this.live++ === 0) this.timer?.ref();
    if (bucket.due < this.armedFor) this.arm();
  }

  private leave(timer: ChannelTimer): void {
    timer.bucket!.remove(timer);
    if (--this.live === 0) this.timer?.unref();
  }

  /** Set the clock timer for the earliest bucket (kept, if it already is). */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined || first.due === this.armedFor) return;
    this.clock.clearTimeout(this.timer);
    this.armedFor = first.due;
    const { clock } = this;
    this.timer = clock.setTimeout(wheelDue, Math.max(0, Math.ceil(first.due - clock.now())), this);
    if (this.live === 0) this.timer.unref();
  }

  private push(bucket: Bucket): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(bucket);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.due <= bucket.due) break;
      this.place(heap[parent]!, i);
      i = parent;
    }
    this.place(bucket, i);
  }

  private pop(): void {
    const heap = this.heap;
    heap[0]!.index = -1;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left;
      if (heap[child]!.due >= last.due) break;
      this.place(heap[child]!, i);
      i = child;
    }
    this.place(last, i);
  }

  private place(bucket: Bucket, index: number): void {
    this.heap[index] = bucket;
    bucket.index = index;
  }
}

/**
 * Whole milliseconds, rounded up (a timer never fires early): deadlines a
 * fraction of a millisecond apart share a bucket.
 */
const dueOf = (deadline: number): number => Math.ceil(deadline);

/**
 * Drives one channel: ticks it at `channel.deadline`, again at each new
 * deadline, and stops by itself once the channel is closed; `stop()` when
 * the conversation ends. A new timer first waits in a bucket due no later
 * than its own deadline, shared with the timers started about then; only a
 * channel that lives until that bucket is due waits in the bucket of its
 * own deadline. The first tick may come one clock-timer hop after the
 * deadline.
 */
export class ChannelTimer {
  /** The bucket it waits in, and its neighbours there (undefined: stopped or ticking). */
  bucket: Bucket | undefined;
  prev: ChannelTimer | undefined;
  next: ChannelTimer | undefined;
  private stopped = false;

  constructor(
    private readonly timers: ChannelTimers,
    readonly channel: Ticking,
  ) {}

  stop(): void {
    this.stopped = true;
    this.timers.remove(this);
  }

  /** Its deadline came: tick the channel, and wait for the next deadline unless it closed or stopped. */
  fire(now: number): void {
    this.channel.tick(now);
    if (!this.stopped && !this.channel.closed) this.timers.wait(this, now);
  }
}
