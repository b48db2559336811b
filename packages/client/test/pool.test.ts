import { afterEach, expect, test } from 'vitest';
import {
  AcquireTimeoutError,
  ClientClosedError,
  LostRemoteError,
  RPCClient,
  TimeoutError,
} from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { rejection } from './helpers/deadline.js';
import { collect, providerPerFile, silentServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

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

test('1,000 concurrent callers through a pool of 8 all succeed', async () => {
  const p = pool({ max: 8, acquireTimeoutMs: 20_000, timeoutMs: 20_000 });
  let largest = 0;
  const sampler = setInterval(() => {
    largest = Math.max(largest, p.stats.size);
  }, 5);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? p.greet(`n${i}`) : p.add(i, 1))),
  );
  clearInterval(sampler);
  const errors = outcomes.filter((o) => o.status === 'rejected');
  expect(errors).toEqual([]);
  const values = outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value);
  expect(values).toEqual(
    Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? `Hello, n${i}!` : i + 1)),
  );
  expect(largest).toBeLessThanOrEqual(8);
  expect(p.stats.size).toBeLessThanOrEqual(8);
  expect(p.stats).toMatchObject({ borrowed: 0, pending: 0 });
});

test('one caller at a time reuses one connection (LIFO); the proxy and views work', async () => {
  const p = pool();
  for (let i = 0; i < 5; i++) expect(await p.add(i, i)).toBe(2 * i);
  expect(await p.call('greet', 'pool')).toBe('Hello, pool!');
  expect(await p.withOptions({ timeoutMs: 1000 }).pair()).toEqual([1, 'two']);
  expect(p.stats).toEqual({ size: 1, available: 1, borrowed: 0, pending: 0 });
});

test('a stream holds its connection until the iteration ends, however it ends', async () => {
  const p = pool();
  // Fully.
  const seen: number[] = [];
  for await (const item of p.count(3)) {
    seen.push(item);
    expect(p.stats.borrowed).toBe(1);
  }
  expect(seen).toEqual([0, 1, 2]);
  await waitFor(() => p.stats.borrowed === 0);
  // Early.
  for await (const item of p.forever('pool')) if (item === 2) break;
  await waitFor(() => p.stats.borrowed === 0);
  // By error.
  const error = await rejection(collect(p.countThenFail(1)));
  expect(error.remoteName).toBe('KeyError');
  await waitFor(() => p.stats.borrowed === 0);
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
  await waitFor(() => p.stats.borrowed === 0);
  // All of that on the one connection, still healthy.
  expect(p.stats.size).toBe(1);
});

test('a connection that lost its remote is destroyed, not reused', async () => {
  const deaf = await silentServer();
  const p = pool({ endpoints: deaf.endpoint, heartbeatMs: 100 });
  try {
    expect(await p.add(1, 1)).toBe(2);
    expect(p.stats.size).toBe(1);
    expect(await rejection(p.slow(5000))).toBeInstanceOf(LostRemoteError);
    await waitFor(() => p.stats.size === 0, 2000, 'the connection to be destroyed');
    // The next call gets a fresh connection.
    expect(await p.add(2, 2)).toBe(4);
    expect(p.stats.size).toBe(1);
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
  expect(p.stats).toMatchObject({ size: 1, borrowed: 0 });
  expect(await p.add(1, 2)).toBe(3);
});

test('idle connections are closed after idleTimeoutMs', async () => {
  const p = pool({ idleTimeoutMs: 200 });
  await Promise.all([p.add(1, 1), p.add(2, 2), p.add(3, 3)]);
  expect(p.stats.size).toBeGreaterThan(0);
  await waitFor(() => p.stats.size === 0, 5000, 'idle eviction');
  expect(await p.add(4, 4)).toBe(8);
});

test('all connections busy: AcquireTimeoutError within the acquire timeout, saying so', async () => {
  const p = pool({ max: 1, acquireTimeoutMs: 200 });
  const busy = p.slow(1500);
  await waitFor(() => p.stats.borrowed === 1);
  const error = await rejection(p.add(1, 2));
  expect(error).toBeInstanceOf(AcquireTimeoutError);
  expect(error).toBeInstanceOf(TimeoutError);
  expect(error.message).toBe(
    'no pooled client free after 0.2s (all 1 busy), when calling remote method add',
  );
  expect(await busy).toBe('slept 1500');
});

test('an abort while waiting for a connection rejects at once and loses nothing', async () => {
  const p = pool({ max: 1 });
  const busy = p.slow(300);
  await waitFor(() => p.stats.borrowed === 1);
  const controller = new AbortController();
  const waiting = rejection(p.withOptions({ signal: controller.signal }).add(1, 2));
  await waitFor(() => p.stats.pending === 1);
  controller.abort(new Error('no longer needed'));
  expect((await waiting).message).toBe('no longer needed');
  expect(await busy).toBe('slept 300');
  await waitFor(() => p.stats.borrowed === 0 && p.stats.pending === 0);
  expect(await p.add(1, 2)).toBe(3);
});

test('close() drains: waits for borrowed connections, refuses new calls, then closes all', async () => {
  const p = new RPCClient<Api>({ endpoints: provider.endpoint, heartbeatMs: HEARTBEAT_MS });
  const stream = p.ticks(3, 100);
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
});

test('bad options fail at construction', () => {
  expect(() => new RPCClient({ timeoutMs: -1 })).toThrow(RangeError);
  expect(() => new RPCClient({ acquireTimeoutMs: 0 })).toThrow(RangeError);
  expect(() => new RPCClient({ idleTimeoutMs: Number.NaN })).toThrow(RangeError);
});
