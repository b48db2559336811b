/**
 * A Puller's bounds: how many events it runs and holds at once, what
 * ZeroMQ drops for it, fairness between pushers, and its shutdown.
 */
import { type CallEnd, currentCall, Registry } from '@zrpc/core';
import { describe, expect, it } from 'vitest';
import { eventFrame, eventsPerTest, until } from './events-helpers.js';
import { deferred } from './helpers.js';

const events = eventsPerTest();

describe('bounds', () => {
  it('an event over maxMessageSize is dropped by ZeroMQ with its connection; another pusher goes on', async () => {
    const registry = new Registry();
    const ran: string[] = [];
    registry.register(function note(who: string, _data: Uint8Array) {
      ran.push(who);
    });
    const { puller, endpoint } = await events.puller({
      registry,
      socket: { maxMessageSize: 4096 },
    });
    const careless = events.push(endpoint);
    const careful = events.push(endpoint);
    await careless.send(eventFrame('note', ['careless', new Uint8Array(64 * 1024)]));
    for (let i = 0; i < 5; i++)
      await careful.send(eventFrame('note', ['careful', new Uint8Array(100)]));
    await until(() => ran.length === 5, "the careful pusher's events");
    expect(ran).toEqual(Array(5).fill('careful'));
    // Never buffered: the puller saw no message of it, and holds nothing.
    expect(puller.stats).toMatchObject({ received: 5, ok: 5, badFrames: 0, bytesHeld: 0 });
  });

  it('reads no more than `concurrency` events while they run: the rest wait in ZeroMQ', async () => {
    const registry = new Registry();
    const gate = deferred();
    let started = 0;
    registry.register(async function job(_i: number) {
      started++;
      await gate.promise;
    });
    const { puller, endpoint } = await events.puller({ registry, concurrency: 3 });
    const push = events.push(endpoint);
    for (let i = 0; i < 10; i++) await push.send(eventFrame('job', [i]));
    await until(() => started === 3, 'three jobs to start');
    // Give the loop turns in which it could read more, if it would.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(puller.stats).toMatchObject({ received: 3, running: 3 });
    gate.resolve();
    await until(() => puller.stats.ok === 10, 'all ten to run');
    expect(started).toBe(10);
  });

  it('holds at most `byteBudget` bytes of running events (one more event may cross it)', async () => {
    const registry = new Registry();
    const gate = deferred();
    registry.register(async function blob(_data: Uint8Array) {
      await gate.promise;
    });
    const { puller, endpoint } = await events.puller({ registry, byteBudget: 3000 });
    const push = events.push(endpoint);
    const frame = eventFrame('blob', [new Uint8Array(1000)]);
    for (let i = 0; i < 10; i++) await push.send(frame);
    await until(() => puller.stats.running === 3, 'three blobs to run');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(puller.stats.received).toBe(3); // 3 x ~1050 bytes: the budget is reached
    expect(puller.stats.bytesHeld).toBe(3 * frame.length);
    gate.resolve();
    await until(() => puller.stats.ok === 10, 'all ten to run');
    expect(puller.stats.peakBytesHeld).toBe(3 * frame.length);
  });

  it('a flood from one pusher does not starve another: ZeroMQ takes from them in turn', async () => {
    const registry = new Registry();
    const order: string[] = [];
    // The work takes one resource in turn (a connection, say), a millisecond
    // each: a FIFO lock. Whatever the puller read ahead would queue here, B's behind A's.
    let lock = Promise.resolve();
    registry.register(function work(who: string, i: number) {
      const turn = lock.then(async () => {
        order.push(`${who}${i}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      });
      lock = turn;
      return turn;
    });
    const { endpoint } = await events.puller({ registry, concurrency: 2 });
    const flooder = events.push(endpoint);
    const other = events.push(endpoint);
    const FLOOD = 1500;
    const flooding = (async () => {
      for (let i = 0; i < FLOOD; i++) await flooder.send(eventFrame('work', ['a', i]));
    })();
    await until(() => order.length >= 50, 'the flood to be running');
    // How many events had run when each of B's was handed to ZeroMQ.
    const sentAt: number[] = [];
    for (let i = 0; i < 20; i++) {
      await other.send(eventFrame('work', ['b', i]));
      sentAt.push(order.length);
    }
    await flooding;
    await until(() => order.length === FLOOD + 20, 'everything to run', 60_000);

    // The flood still had a long backlog when B sent...
    expect(
      FLOOD - order.slice(0, sentAt[0]).filter((id) => id.startsWith('a')).length,
    ).toBeGreaterThan(500);
    // ...yet each of B's events ran within a few events of being sent, not after that backlog.
    const waited = sentAt.map((at, i) => order.indexOf(`b${i}`) - at);
    expect(Math.max(...waited)).toBeLessThan(100);
  });

  it('close() lets running events finish within the grace, then fires their signal', async () => {
    const registry = new Registry();
    registry.register(async function quick() {
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    registry.register(async function stubborn() {
      const signal = currentCall()!.signal;
      await new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    const ends: CallEnd[] = [];
    const { puller, logger, endpoint } = await events.puller({
      registry,
      observers: [(end) => ends.push(end)],
    });
    const push = events.push(endpoint);
    await push.send(eventFrame('quick', []));
    await push.send(eventFrame('stubborn', []));
    await until(() => puller.stats.running === 2, 'both to run');
    await puller.close({ graceMs: 200 });
    expect(ends.map((end) => [end.method, end.status])).toEqual([
      ['quick', 'ok'],
      ['stubborn', 'refused_closing'],
    ]);
    expect((ends[1]!.error as Error).name).toBe('ServerClosingError');
    expect(logger.lines.some((line) => /stubborn cancelled after/.test(String(line.args[0])))).toBe(
      true,
    );
    expect(puller.stats).toMatchObject({ ok: 1, cancelled: 1, running: 0 });
  });
});
