import { realClock } from '@zrpc/core/protocol';
import {
  closeServer,
  collect,
  FakeClock,
  nextTurns,
  rejection,
  until,
  within,
} from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import {
  AcquireTimeoutError,
  ClientClosedError,
  LostRemoteError,
  RPCClient,
  TimeoutError,
} from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { handlerClock } from './fixtures/provider.js';
import { providerPerFile, silentServer, startServer } from './helpers/server.js';

type Api = typeof Provider;
const HEARTBEAT_MS = 200;
const provider = providerPerFile({ heartbeatMs: HEARTBEAT_MS });

const pools: RPCClient<Api>[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function pool(options: ConstructorParameters<typeof RPCClient>[0] = {}): RPCClient<Api> {
  const p = new RPCClient<Api>({
    endpoints: provider.endpoint,
    heartbeatMs: HEARTBEAT_MS,
    ...options,
  });
  pools.push(p);
  return p;
}

test('1,000 concurrent callers through a pool of 8 all succeed, never more than 8 in flight', async () => {
  const p = pool({ max: 8, acquireTimeoutMs: 20_000, timeoutMs: 20_000 });
  let largest = 0;
  let largestOnServer = 0;
  let waited = 0;
  const sampler = setInterval(() => {
    largest = Math.max(largest, p.stats.borrowed);
    largestOnServer = Math.max(largestOnServer, p.stats.servers[0]!.openCalls);
    waited = Math.max(waited, p.stats.pending);
  }, 5);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? p.greet(`n${i}`, '!') : p.add(i, 1))),
  );
  clearInterval(sampler);
  const errors = outcomes.filter((o) => o.status === 'rejected');
  expect(errors).toEqual([]);
  const values = outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value);
  expect(values).toEqual(
    Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? `Hello, n${i}!` : i + 1)),
  );
  expect(largest).toBeLessThanOrEqual(8);
  expect(largestOnServer).toBeLessThanOrEqual(8);
  expect(waited).toBeGreaterThan(0);
  expect(p.stats.size).toBeLessThanOrEqual(8);
  expect(p.stats).toMatchObject({ borrowed: 0, pending: 0 });
});

test('calls in flight share one socket per server: 64 slow calls run at once', async () => {
  const p = pool({ max: 64 });
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, p.stats.servers[0]!.openCalls);
  }, 5);
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 64 }, () => p.slow(300)));
  clearInterval(sampler);
  expect(replies).toEqual(Array.from({ length: 64 }, () => 'slept 300'));
  // All 64 were open on the server together (one pooled client per call would need 64 sockets).
  expect(peak).toBe(64);
  expect(Date.now() - started).toBeLessThan(64 * 300);
  expect(p.stats.servers).toHaveLength(1);
});

test('one caller at a time reuses one place (LIFO); the proxy and views work', async () => {
  const p = pool();
  for (let i = 0; i < 5; i++) expect(await p.add(i, i)).toBe(2 * i);
  expect(await p.call('greet', 'pool', '!')).toBe('Hello, pool!');
  expect(await p.withOptions({ timeoutMs: 1000 }).pair()).toEqual([1, 'two']);
  expect(p.stats).toMatchObject({ size: 1, available: 1, borrowed: 0, pending: 0, ejections: 0 });
  expect(p.stats.servers).toEqual([
    { endpoint: provider.endpoint, openCalls: 0, state: 'up', ejections: 0 },
  ]);
});

test('a stream holds its place until the iteration ends, however it ends', async () => {
  const p = pool();
  // Fully.
  const seen: number[] = [];
  for await (const item of p.count(3)) {
    seen.push(item);
    expect(p.stats.borrowed).toBe(1);
  }
  expect(seen).toEqual([0, 1, 2]);
  await until(() => p.stats.borrowed === 0);
  // Early.
  for await (const item of p.forever('pool')) if (item === 2) break;
  await until(() => p.stats.borrowed === 0);
  // By error.
  const error = await rejection(collect(p.countThenFail(1)));
  expect(error.remoteName).toBe('KeyError');
  await until(() => p.stats.borrowed === 0);
  // By abort.
  const controller = new AbortController();
  const aborted = await rejection(
    (async () => {
      for await (const item of p.withOptions({ signal: controller.signal }).forever('pool-abort')) {
        if (item === 1) controller.abort(new Error('enough'));
      }
    })(),
  );
  expect(aborted.message).toBe('enough');
  await until(() => p.stats.borrowed === 0);
  // All of that on the one place and server, still in rotation.
  expect(p.stats.size).toBe(1);
  expect(p.stats.servers[0]).toMatchObject({ openCalls: 0, state: 'up' });
});

test('a server that lost the remote of a call is ejected, pinged, and back in rotation', async () => {
  // A server that answers add and pings, and is silent on anything else (no heartbeat).
  const deaf = await silentServer();
  const p = pool({ endpoints: deaf.endpoint, heartbeatMs: 100 });
  try {
    expect(await p.add(1, 1)).toBe(2);
    expect(await rejection(p.slow(5000))).toBeInstanceOf(LostRemoteError);
    expect(p.stats.ejections).toBe(1);
    // The ping answers (a ping needs no heartbeat): the server is back.
    await until(() => p.stats.servers[0]?.state === 'up', 3000, 'the server back in rotation');
    expect(await p.add(2, 2)).toBe(4);
    expect(p.stats.servers[0]).toMatchObject({ openCalls: 0, ejections: 1 });
  } finally {
    await p.close();
    deaf.close();
  }
});

test('a call that times out keeps its connection (the server is alive)', async () => {
  const p = pool();
  expect(await rejection(p.withOptions({ timeoutMs: 100 }).slow(2000))).toBeInstanceOf(
    TimeoutError,
  );
  expect(p.stats).toMatchObject({ size: 1, borrowed: 0, ejections: 0 });
  expect(await p.add(1, 2)).toBe(3);
});

test('the bound reached: AcquireTimeoutError when the acquire timeout has passed, saying so', async () => {
  // The pool waits on one fake clock, the provider's `slow` on another; the
  // server's heartbeats are a minute apart (real time), so nothing else moves.
  const clock = new FakeClock();
  const handlers = new FakeClock();
  handlerClock.current = handlers;
  const { server, endpoint } = await startServer({ heartbeatMs: 60_000 });
  try {
    const p = pool({ endpoints: endpoint, max: 1, acquireTimeoutMs: 200, clock });
    const busy = p.slow(1500);
    await until(() => p.stats.borrowed === 1 && server.stats.running === 1, 5000, 'the call');
    let settled = false;
    const waiting = rejection(p.add(1, 2)).finally(() => (settled = true));
    await until(() => p.stats.pending === 1, 5000, 'the second call to wait');
    clock.advance(199);
    await nextTurns();
    expect(settled).toBe(false);
    clock.advance(1);
    const error = await within(5000, 'the acquire timeout', waiting);
    expect(error).toBeInstanceOf(AcquireTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(
      'no place free in the pool after 0.2s (all 1 in flight), when calling remote method add',
    );
    handlers.advance(1500);
    expect(await busy).toBe('slept 1500');
  } finally {
    handlerClock.current = realClock;
    await closeServer(server);
  }
});

test('an abort while waiting for a place rejects at once and loses nothing', async () => {
  const p = pool({ max: 1 });
  const busy = p.slow(300);
  await until(() => p.stats.borrowed === 1);
  const controller = new AbortController();
  const waiting = rejection(p.withOptions({ signal: controller.signal }).add(1, 2));
  await until(() => p.stats.pending === 1);
  controller.abort(new Error('no longer needed'));
  expect((await waiting).message).toBe('no longer needed');
  expect(await busy).toBe('slept 300');
  await until(() => p.stats.borrowed === 0 && p.stats.pending === 0);
  expect(await p.add(1, 2)).toBe(3);
});

test('close() drains: waits for the calls in flight, refuses new calls, then closes the client', async () => {
  const p = new RPCClient<Api>({ endpoints: provider.endpoint, heartbeatMs: HEARTBEAT_MS });
  const stream = p.ticks(3, 100, 0);
  const first = await stream[Symbol.asyncIterator]().next();
  expect(first).toEqual({ done: false, value: 0 });
  let closed = false;
  const closing = p.close().then(() => {
    closed = true;
  });
  expect(await rejection(p.add(1, 2))).toBeInstanceOf(ClientClosedError);
  expect(closed).toBe(false);
  expect(p.stats.borrowed).toBe(1);
  // The stream finishes normally; then the pool closes.
  expect(await collect(stream)).toEqual([1, 2]);
  await closing;
  expect(p.stats.size).toBe(0);
  expect(p.stats.servers).toEqual([]);
});

test('bad options fail at construction', () => {
  expect(() => new RPCClient({ timeoutMs: -1 })).toThrow(RangeError);
  expect(() => new RPCClient({ acquireTimeoutMs: 0 })).toThrow(RangeError);
  expect(() => new RPCClient({ max: 0 })).toThrow('max must be a positive integer, got 0');
});
