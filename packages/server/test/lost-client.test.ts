// A client that goes silent is lost after two heartbeat intervals of the
// slower side. The server runs on a fake clock: the tests let real I/O
// settle (requests reach the server over loopback), then move fake time to
// just before and just past the deadline.
import { callSignal, LostRemoteError, Registry, type ServerMiddleware } from '@zrpc/core';
import { FakeClock } from '@zrpc/testkit';
import { expect, test } from 'vitest';
import { deferred, serverPerTest, until } from './helpers.js';

/** Short heartbeats: a silent client is lost 2 × 200 ms after it was last heard. */
const HEARTBEAT_MS = 200;
const LOST_AFTER_MS = 2 * HEARTBEAT_MS;

const session = serverPerTest();

/** What a middleware saw: the error `next()` ended with, if any. */
function watchingMiddleware(seen: unknown[]): ServerMiddleware {
  return async (_ctx, next) => {
    try {
      await next();
      seen.push('completed');
    } catch (error) {
      seen.push(error);
      throw error;
    }
  };
}

async function serve(registry: Registry, seen: unknown[], clock: FakeClock, options = {}) {
  return session.start({
    registry,
    clock,
    heartbeatMs: HEARTBEAT_MS,
    // The raw clients here play reference peers at the server's pace.
    assumedPeerHeartbeatMs: HEARTBEAT_MS,
    middleware: [watchingMiddleware(seen)],
    ...options,
  });
}

test('a silent client aborts the handler two heartbeats after it was last heard: its signal fires, middleware sees LostRemoteError, the channel is freed', async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const aborted = deferred<unknown>();
  let abortedAt: number | undefined;
  registry.register(async function wait() {
    const signal = callSignal()!;
    signal.addEventListener('abort', () => {
      abortedAt = clock.now();
      aborted.resolve(signal.reason);
    });
    await clock.sleep(60_000, signal);
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen, clock);

  client.request('wait', []); // and never a heartbeat
  await until(() => server.stats.openChannels === 1, 5000, 'the call');
  const heard = clock.now();
  clock.advance(LOST_AFTER_MS - 1);
  expect(abortedAt).toBeUndefined();
  clock.advance(1);
  expect(abortedAt).toBe(heard + LOST_AFTER_MS);

  expect(await aborted.promise).toBeInstanceOf(LostRemoteError);
  await until(() => seen.length === 1, 5000, 'the middleware');
  expect(seen[0]).toBeInstanceOf(LostRemoteError);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.lostRemotes).toBe(1);
  await until(() => server.stats.running === 0, 5000, 'the slot back');
  // The server beat once meanwhile (at 200 ms); nothing answers a lost call.
  await until(() => client.received.length === 1, 5000, 'the heartbeat');
  expect(client.received[0]!.event.name).toBe('_zpc_hb');
  await client.roundTrip();
  expect(client.replies).toBe(0);
});

test('a lost stream closes its generator (its finally runs), whether it waits for credit or in an await', async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const finallyRan: string[] = [];
  let awaiting = false;
  registry.register(
    function* waitsForCredit() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finallyRan.push('waitsForCredit');
      }
    },
    { stream: true },
  );
  registry.register(
    async function* waitsInAwait() {
      try {
        yield 'first';
        awaiting = true;
        await clock.sleep(60_000, callSignal());
        yield 'never';
      } finally {
        finallyRan.push('waitsInAwait');
      }
    },
    { stream: true },
  );
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen, clock);

  const second = client.request('waitsInAwait', []);
  client.request('waitsForCredit', []);
  // Grant credit to the second one so that it moves on to its long await.
  await client.until(() => client.replies === 2, 5000, 'both first items');
  client.onChannel(second, '_zpc_more', [10]);
  await until(() => awaiting, 5000, 'the second stream in its await');

  clock.advance(LOST_AFTER_MS - 1);
  await client.roundTrip();
  expect(finallyRan).toEqual([]);
  clock.advance(1);
  await until(() => finallyRan.length === 2, 5000, 'both finally blocks');
  await until(() => seen.length === 2, 5000, 'the middleware');
  expect(finallyRan.sort()).toEqual(['waitsForCredit', 'waitsInAwait']);
  expect(seen.every((e) => e instanceof LostRemoteError)).toBe(true);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.lostRemotes).toBe(2);
  expect(client.replies).toBe(2); // the two first items
});

test('a handler that ignores its signal: the late result is dropped, its slot is held until it returns', async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const release = deferred();
  let returned = false;
  registry.register(async function stubborn() {
    await release.promise;
    returned = true;
    return 'too late';
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen, clock);

  client.request('stubborn', []);
  await until(() => server.stats.openChannels === 1, 5000, 'the call');
  clock.advance(LOST_AFTER_MS);
  await until(() => seen.length === 1, 5000, 'the middleware');
  expect(seen[0]).toBeInstanceOf(LostRemoteError);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.running).toBe(1);

  release.resolve();
  await until(() => returned && server.stats.running === 0, 5000, 'the handler');
  await client.roundTrip();
  expect(client.replies).toBe(0); // no late result
  expect(server.stats.unroutable + server.stats.errors).toBe(0);
});

test('a call waiting for a slot still heart-beats, and leaves the queue cleanly when its client is lost', async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const release = deferred();
  let started = 0;
  registry.register(async function busy() {
    started++;
    await release.promise;
    return 'done';
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen, clock, { concurrency: 1 });

  const first = client.request('busy', []);
  client.request('busy', []); // waits for the slot, then goes silent
  await client.until(() => server.stats.queued === 1, 5000, 'the queued call');
  // Keep the first call alive (a heartbeat every interval, each one known to
  // have arrived before time moves on); the queued one gets none from us.
  for (let at = HEARTBEAT_MS; at < LOST_AFTER_MS; at += HEARTBEAT_MS) {
    clock.advance(HEARTBEAT_MS);
    client.onChannel(first, '_zpc_hb', [0]);
    await client.roundTrip();
  }
  clock.advance(HEARTBEAT_MS - 1);
  expect(server.stats.lostRemotes).toBe(0);
  clock.advance(1);
  await until(() => server.stats.lostRemotes === 1, 5000, 'the lost call');
  expect(server.stats.queued).toBe(0);
  expect(server.stats.openChannels).toBe(1);
  // The server heart-beat both channels at 200 ms, and the first one at 400.
  const beats = () => client.received.filter((r) => r.event.name === '_zpc_hb').length;
  await until(() => beats() >= 3, 5000, 'the heartbeats');
  await client.roundTrip();
  expect(beats()).toBe(3);
  release.resolve();
  expect((await client.nextReply()).args).toEqual(['done']);
  expect(started).toBe(1);
  // The queued call never reached the middleware: it never got a slot.
  expect(seen).toEqual(['completed']);
  expect(server.stats.openChannels).toBe(0);
});

test('a reference client slower than the server is not lost before its first heartbeat', async () => {
  /** A zerorpc-python client at 1 s: its first heartbeat one interval after the request. */
  const slowPeer = async (assumedPeerHeartbeatMs: number) => {
    const clock = new FakeClock();
    const registry = new Registry();
    registry.register(async function nap(ms: number) {
      await clock.sleep(ms, callSignal());
      return 'rested';
    });
    const { server, client } = await serve(registry, [], clock, { assumedPeerHeartbeatMs });
    const id = client.request('nap', [1500]);
    await until(() => server.stats.openChannels === 1, 5000, 'the call');
    for (let at = 0; at < 1500 && server.stats.lostRemotes === 0; at += 100) {
      clock.advance(100);
      if ((at + 100) % 1000 === 0) {
        client.onChannel(id, '_zpc_hb', [0]);
        await client.roundTrip();
      }
    }
    if (server.stats.lostRemotes > 0) return 'lost';
    return (await client.nextReply()).args;
  };
  // The server beats at 200 ms; assuming a peer of unknown pace beats at 1 s keeps it.
  expect(await slowPeer(1000)).toEqual(['rested']);
  // The control: assuming it beats at the server's own pace loses it at 400 ms.
  expect(await slowPeer(HEARTBEAT_MS)).toBe('lost');
});
