import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ChannelTimer, monotonicNow, type Ticking } from '../src/protocol.js';

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

/** Resolves once `channel` has ticked (the bound only keeps a broken timer from hanging the test). */
async function ticked(channel: DueOnce): Promise<number> {
  for (let waited = 0; channel.tickedAt === undefined && waited < 5000; waited += 5) await sleep(5);
  expect(channel.tickedAt).toBeDefined();
  return channel.tickedAt!;
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('ChannelTimer', () => {
  it('ticks each channel at its own deadline, never before', async () => {
    const start = monotonicNow();
    const soon = new DueOnce(start + 30);
    const later = new DueOnce(start + 120);
    const timers = [new ChannelTimer(later), new ChannelTimer(soon)];
    expect(await ticked(soon)).toBeGreaterThanOrEqual(soon.deadline);
    expect(await ticked(later)).toBeGreaterThanOrEqual(later.deadline);
    expect(soon.tickedAt!).toBeLessThan(later.tickedAt!);
    for (const timer of timers) timer.stop();
  });

  it('a timer stopped before its deadline never ticks and keeps no Node timer alive', async () => {
    const before = timeouts();
    const channels = Array.from({ length: 50 }, () => new DueOnce(monotonicNow() + 10));
    const timers = channels.map((channel) => new ChannelTimer(channel));
    for (const timer of timers) timer.stop();
    await nextTurn();
    expect(timeouts()).toBe(before);
    await sleep(40);
    expect(channels.every((channel) => channel.tickedAt === undefined)).toBe(true);
  });

  it('timers started together share one Node timer, which stops holding the process once they have all stopped', async () => {
    const before = timeouts();
    const timers = [1000, 2000, 3000].map(
      (ms) => new ChannelTimer(new DueOnce(monotonicNow() + ms)),
    );
    await nextTurn();
    expect(timeouts()).toBe(before + 1);
    for (const timer of timers) timer.stop();
    expect(timeouts()).toBe(before);
  });

  it('a timer stopped after others started, before its deadline, never ticks', async () => {
    const kept = new DueOnce(monotonicNow() + 40);
    const stopped = new DueOnce(monotonicNow() + 40);
    const timers = [new ChannelTimer(kept), new ChannelTimer(stopped)];
    await nextTurn();
    timers[1]!.stop();
    await ticked(kept);
    await sleep(50);
    expect(stopped.tickedAt).toBeUndefined();
    timers[0]!.stop();
  });

  it('a timer due before the others started earlier is not held back by them', async () => {
    const late = new DueOnce(monotonicNow() + 3000);
    const early = new DueOnce(monotonicNow() + 30);
    const timers = [new ChannelTimer(late), new ChannelTimer(early)];
    expect(await ticked(early)).toBeGreaterThanOrEqual(early.deadline);
    expect(late.tickedAt).toBeUndefined();
    for (const timer of timers) timer.stop();
  });
});
