// The places of an RPCClient pool: at most `max` lent, callers served first
// in, first out, a caller that gives up (timeout, abort) leaves the line.
import { ChannelTimers } from '@zrpc/core/protocol';
import { FakeClock } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { Places } from '../src/places.js';

function places(max: number) {
  const clock = new FakeClock();
  return { clock, places: new Places(max, new ChannelTimers(clock)) };
}

/** Settle the promise jobs of what just happened. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Places', () => {
  it('lends up to max at once, then makes callers wait, first in first out', async () => {
    const { places: p } = places(2);
    expect([p.take(), p.take(), p.take()]).toEqual([true, true, false]);
    const served: number[] = [];
    const waits = [1, 2, 3].map((n) => p.wait(1000, undefined).then(() => served.push(n)));
    expect(p.waiting).toBe(3);
    // Nobody jumps the line, even with a place free.
    p.giveBack();
    expect(p.take()).toBe(false);
    await settle();
    expect(served).toEqual([1]);
    p.giveBack();
    p.giveBack();
    await Promise.all(waits);
    expect(served).toEqual([1, 2, 3]);
    expect({ lent: p.lent, waiting: p.waiting, made: p.made }).toEqual({
      lent: 2,
      waiting: 0,
      made: 2,
    });
  });

  it('a caller whose acquire timeout passes leaves the line; the next one is served', async () => {
    const { clock, places: p } = places(1);
    p.take();
    const late = p.wait(100, undefined);
    const patient = p.wait(1000, undefined);
    clock.advance(100);
    await expect(late).rejects.toEqual({ timedOut: true });
    expect(p.waiting).toBe(1);
    p.giveBack();
    await patient;
    expect(p.lent).toBe(1);
    // Its timer is gone with it: nothing holds the process open.
    expect(clock.pending.filter((timer) => timer.refed)).toEqual([]);
  });

  it('an abort while waiting rejects at once with the reason; an aborted signal never waits', async () => {
    const { places: p } = places(1);
    p.take();
    const controller = new AbortController();
    const waiting = p.wait(1000, controller.signal);
    controller.abort(new Error('no longer needed'));
    await expect(waiting).rejects.toEqual({
      timedOut: false,
      reason: new Error('no longer needed'),
    });
    await expect(p.wait(1000, controller.signal)).rejects.toMatchObject({ timedOut: false });
    expect(p.waiting).toBe(0);
    p.giveBack();
    expect(p.lent).toBe(0);
  });

  it('idle() resolves once every place is back', async () => {
    const { places: p } = places(3);
    p.take();
    p.take();
    let idle = false;
    const done = p.idle().then(() => {
      idle = true;
    });
    p.giveBack();
    await settle();
    expect(idle).toBe(false);
    p.giveBack();
    await done;
    expect(idle).toBe(true);
  });
});
