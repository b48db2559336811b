import { setTimeout as sleepFor } from 'node:timers/promises';
import { callSignal, LostRemoteError, Registry, type ServerMiddleware } from '@zrpc/core';
import { expect, test } from 'vitest';
import { deferred, serverPerTest, sleep } from './helpers.js';

/** Short heartbeats: a silent client is lost after 2 × 200 ms. */
const HEARTBEAT_MS = 200;
/** Generous bound for "lost within two heartbeats", on a loaded machine. */
const LOST_WITHIN_MS = 2 * HEARTBEAT_MS + 2000;

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

async function serve(registry: Registry, seen: unknown[], options = {}) {
  return session.start({
    registry,
    heartbeatMs: HEARTBEAT_MS,
    // The raw clients here play reference peers at the server's pace.
    assumedPeerHeartbeatMs: HEARTBEAT_MS,
    middleware: [watchingMiddleware(seen)],
    ...options,
  });
}

test('a silent client aborts the handler: its signal fires, middleware sees LostRemoteError, the channel is freed', async () => {
  const registry = new Registry();
  const aborted = deferred<unknown>();
  registry.register(async function wait() {
    const signal = callSignal()!;
    signal.addEventListener('abort', () => aborted.resolve(signal.reason));
    await sleepFor(60_000, undefined, { signal });
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen);

  client.request('wait', []); // and never a heartbeat
  await client.until(() => server.stats.openChannels === 1, 5000);
  const reason = await aborted.promise;

  expect(reason).toBeInstanceOf(LostRemoteError);
  await client.until(() => seen.length === 1, LOST_WITHIN_MS, 'the middleware');
  expect(seen[0]).toBeInstanceOf(LostRemoteError);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.lostRemotes).toBe(1);
  await client.until(() => server.stats.running === 0, 5000, 'the slot back');
  // Heartbeats only: nothing answers a lost call.
  expect(client.replies).toBe(0);
});

test('a lost stream closes its generator (its finally runs), whether it waits for credit or in an await', async () => {
  const registry = new Registry();
  const finallyRan: string[] = [];
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
        await sleepFor(60_000, undefined, { signal: callSignal() });
        yield 'never';
      } finally {
        finallyRan.push('waitsInAwait');
      }
    },
    { stream: true },
  );
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen);

  const second = client.request('waitsInAwait', []);
  client.request('waitsForCredit', []);
  // Grant credit to the second one so that it moves on to its long await.
  await client.until(() => client.replies === 2, 5000, 'both first items');
  client.onChannel(second, '_zpc_more', [10]);

  await client.until(() => finallyRan.length === 2, LOST_WITHIN_MS, 'both finally blocks');
  await client.until(() => seen.length === 2, 5000, 'the middleware');
  expect(finallyRan.sort()).toEqual(['waitsForCredit', 'waitsInAwait']);
  expect(seen.every((e) => e instanceof LostRemoteError)).toBe(true);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.lostRemotes).toBe(2);
  expect(client.replies).toBe(2);
});

test('a handler that ignores its signal: the late result is dropped, its slot is held until it returns', async () => {
  const registry = new Registry();
  const release = deferred();
  let returned = false;
  registry.register(async function stubborn() {
    await release.promise;
    returned = true;
    return 'too late';
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen);

  client.request('stubborn', []);
  await client.until(() => seen.length === 1, LOST_WITHIN_MS, 'the middleware');
  expect(seen[0]).toBeInstanceOf(LostRemoteError);
  expect(server.stats.openChannels).toBe(0);
  expect(server.stats.running).toBe(1);

  release.resolve();
  await client.until(() => returned && server.stats.running === 0, 5000, 'the handler');
  await sleep(100);
  expect(client.replies).toBe(0);
  expect(server.stats.unroutable + server.stats.errors).toBe(0);
});

test('a call waiting for a slot still heart-beats, and leaves the queue cleanly when its client is lost', async () => {
  const registry = new Registry();
  const release = deferred();
  let started = 0;
  registry.register(async function busy() {
    started++;
    await release.promise;
    return 'done';
  });
  const seen: unknown[] = [];
  const { server, client } = await serve(registry, seen, { concurrency: 1 });

  const first = client.request('busy', []);
  client.request('busy', []); // waits for the slot, then goes silent
  await client.until(() => server.stats.queued === 1, 5000, 'the queued call');
  // Keep the first call alive; the queued one gets no heartbeat from us.
  const keepAlive = setInterval(() => client.onChannel(first, '_zpc_hb', [0]), HEARTBEAT_MS / 2);
  try {
    await client.until(() => server.stats.lostRemotes === 1, LOST_WITHIN_MS, 'the lost call');
    expect(server.stats.queued).toBe(0);
    expect(server.stats.openChannels).toBe(1);
    // The server heart-beat both channels meanwhile.
    const beats = client.received.filter((r) => r.event.name === '_zpc_hb').length;
    expect(beats).toBeGreaterThanOrEqual(2);
    release.resolve();
    expect((await client.nextReply()).args).toEqual(['done']);
  } finally {
    clearInterval(keepAlive);
  }
  expect(started).toBe(1);
  // The queued call never reached the middleware: it never got a slot.
  expect(seen).toEqual(['completed']);
  expect(server.stats.openChannels).toBe(0);
});

test('a reference client slower than the server is not lost before its first heartbeat', async () => {
  const registry = new Registry();
  registry.register(async function nap(ms: number) {
    await sleepFor(ms);
    return 'rested';
  });
  /** A zerorpc-python client at 1 s: its first heartbeat one interval after the request. */
  const slowPeer = async (assumedPeerHeartbeatMs: number) => {
    const { server, client } = await serve(registry, [], { assumedPeerHeartbeatMs });
    const id = client.request('nap', [1500]);
    const beats = setInterval(() => client.onChannel(id, '_zpc_hb', [0]), 1000);
    try {
      await client.until(() => client.replies === 1 || server.stats.lostRemotes === 1, 5000);
    } finally {
      clearInterval(beats);
    }
    return server.stats.lostRemotes === 0 ? (await client.nextReply()).args : 'lost';
  };
  // The server beats at 200 ms; assuming a peer of unknown pace beats at 1 s keeps it.
  expect(await slowPeer(1000)).toEqual(['rested']);
  // The control: assuming it beats at the server's own pace loses it at 400 ms.
  expect(await slowPeer(HEARTBEAT_MS)).toBe('lost');
});
