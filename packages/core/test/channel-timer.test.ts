import { FakeClock } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { type ChannelTimer, ChannelTimers, type Ticking } from '../src/protocol.js';

/** A channel stand-in: due at a fixed time, closed after its first tick; records when it ticked. */
class DueOnce implements Ticking {
  closed = false;
  tickedAt: number | undefined;

  constructor(readonly deadline: number) {}

  tick(now: number): void {
    this.tickedAt = now;
    this.closed = true;
  }
}

/** Timers on a fake clock: time moves only when the test says so. */
function fakeTimers() {
  const clock = new FakeClock();
  const timers = new ChannelTimers(clock);
  const due = (ms: number) => new DueOnce(clock.now() + ms);
  /** Clock timers that would hold a real process open. */
  const holding = () => clock.pending.filter((timer) => timer.refed).length;
  return { clock, timers, due, holding };
}

describe('ChannelTimer', () => {
  it('ticks each channel at its own deadline, never before', () => {
    const { clock, timers, due } = fakeTimers();
    const soon = due(30);
    const later = due(120);
    const started = [timers.start(later), timers.start(soon)];
    clock.advance(29);
    expect(soon.tickedAt).toBeUndefined();
    clock.advance(1);
    expect(soon.tickedAt).toBe(soon.deadline);
    clock.advance(89);
    expect(later.tickedAt).toBeUndefined();
    clock.advance(1);
    expect(later.tickedAt).toBe(later.deadline);
    for (const timer of started) timer.stop();
    expect(clock.pending.filter((timer) => timer.refed)).toEqual([]);
  });

  it('a timer stopped before its deadline never ticks and holds no clock timer', () => {
    const { clock, timers, due, holding } = fakeTimers();
    const channels = Array.from({ length: 50 }, () => due(10));
    const started = channels.map((channel) => timers.start(channel));
    expect(holding()).toBe(1);
    for (const timer of started) timer.stop();
    expect(holding()).toBe(0);
    clock.advance(1000);
    expect(channels.every((channel) => channel.tickedAt === undefined)).toBe(true);
  });

  it('timers started together share one clock timer, which stops holding the process once they have all stopped', () => {
    const { timers, due, holding } = fakeTimers();
    const started = [1000, 2000, 3000].map((ms) => timers.start(due(ms)));
    expect(holding()).toBe(1);
    for (const timer of started) timer.stop();
    expect(holding()).toBe(0);
  });

  it('a timer stopped after others started, before its deadline, never ticks', () => {
    const { clock, timers, due } = fakeTimers();
    const kept = due(40);
    const stopped = due(40);
    const started = [timers.start(kept), timers.start(stopped)];
    clock.advance(10);
    started[1]!.stop();
    clock.advance(100);
    expect(kept.tickedAt).toBe(kept.deadline);
    expect(stopped.tickedAt).toBeUndefined();
    started[0]!.stop();
  });

  it('a timer due before the others started earlier is not held back by them', () => {
    const { clock, timers, due } = fakeTimers();
    const late = due(3000);
    const early = due(30);
    const started = [timers.start(late), timers.start(early)];
    clock.advance(30);
    expect(early.tickedAt).toBe(early.deadline);
    expect(late.tickedAt).toBeUndefined();
    clock.advance(3000);
    expect(late.tickedAt).toBe(late.deadline);
    for (const timer of started) timer.stop();
  });

  it('a channel that stays open is ticked again at each new deadline', () => {
    const { clock, timers } = fakeTimers();
    const ticks: number[] = [];
    const channel: Ticking = {
      closed: false,
      deadline: clock.now() + 100,
      tick(now) {
        ticks.push(now);
        this.deadline = now + 100;
      },
    } as Ticking & { deadline: number };
    const timer = timers.start(channel);
    clock.advance(350);
    expect(ticks).toEqual([1100, 1200, 1300]);
    timer.stop();
    clock.advance(500);
    expect(ticks).toHaveLength(3);
  });

  it('channels that outlive their first deadline share one clock timer, each ticked at its own deadlines', () => {
    const { clock, timers, holding } = fakeTimers();
    const start = clock.now();
    const channels = Array.from({ length: 1000 }, (_, i) => {
      const ticks: number[] = [];
      const channel = {
        closed: false,
        deadline: start + 100 + (i % 50),
        ticks,
        tick(now: number) {
          ticks.push(now);
          this.deadline = now + 100;
        },
      };
      return channel;
    });
    const started = channels.map((channel) => timers.start(channel));
    clock.advance(1000);
    expect(clock.pending).toHaveLength(1);
    for (const [i, channel] of channels.entries()) {
      const first = start + 100 + (i % 50);
      const expected = Array.from({ length: 10 }, (_, k) => first + 100 * k).filter(
        (at) => at <= start + 1000,
      );
      expect(channel.ticks).toEqual(expected);
    }
    for (const timer of started) timer.stop();
    expect(holding()).toBe(0);
  });

  it('a tick that stops another timer due at the same moment: that one never ticks', () => {
    const { clock, timers, due } = fakeTimers();
    const second = due(50);
    let secondTimer: ChannelTimer | undefined;
    const first: Ticking = {
      closed: false,
      deadline: second.deadline,
      tick() {
        secondTimer!.stop();
        this.closed = true;
      },
    } as Ticking;
    // Due at the same moment, ticked in the order they started.
    timers.start(first);
    secondTimer = timers.start(second);
    clock.advance(100);
    expect(first.closed).toBe(true);
    expect(second.tickedAt).toBeUndefined();
  });

  it('a timer stopped during its own tick is not armed again, even if its channel stays open', () => {
    const { clock, timers, holding } = fakeTimers();
    let ticks = 0;
    const channel = {
      closed: false,
      deadline: clock.now() + 10,
      tick(now: number) {
        ticks++;
        this.deadline = now + 10;
        timer.stop();
      },
    };
    const timer = timers.start(channel);
    clock.advance(100);
    expect(ticks).toBe(1);
    expect(holding()).toBe(0);
  });
});
