import { decodeEvent } from '@zrpc/core/protocol';
import { rejection, until, within } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Router } from 'zeromq';
import {
  Client,
  LostRemoteError,
  NotConnectedError,
  RPCClient,
  TimeoutError,
} from '../src/index.js';
import { ChildServer } from './helpers/child.js';

// Servers in child processes, killed with SIGKILL: they vanish without a word.
const HEARTBEAT_MS = 200;
const LOST_BOUND_MS = 2 * HEARTBEAT_MS + 1000;

interface ChildApi {
  add(a: number, b: number): number;
  pid(): number;
  slow(ms: number): Promise<string>;
  ticks(n: number, ms: number): AsyncGenerator<number>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function child(endpoint?: string): Promise<ChildServer> {
  const server = await ChildServer.start(endpoint, HEARTBEAT_MS);
  cleanups.push(() => server.kill());
  return server;
}

function client(endpoint: string): Client<ChildApi> {
  const c = new Client<ChildApi>({ endpoints: endpoint, heartbeatMs: HEARTBEAT_MS });
  cleanups.push(() => c.close());
  return c;
}

test('a server killed mid-call: LostRemoteError as soon as its connection drops', async () => {
  const server = await child();
  const c = client(server.endpoint);
  // Connected first: a call made before the connection is up waits in this
  // process (and fails NotConnectedError at its timeout), never lost.
  expect(await c.pid()).toBe(server.pid);
  const pending = rejection(c.slow(30_000));
  await until(() => c.openChannels === 1);
  await server.kill();
  const error = await within(LOST_BOUND_MS, 'LostRemoteError', pending);
  expect(error).toBeInstanceOf(LostRemoteError);
  expect(error.message).toBe(`Lost remote: the connection to ${server.endpoint} dropped`);
  expect(c.openChannels).toBe(0);
  expect(c.healthy).toBe(false);
});

test('a server frozen mid-call (SIGSTOP, connection still up): LostRemoteError within two heartbeats (+1 s)', async () => {
  const server = await child();
  const c = client(server.endpoint);
  expect(await c.pid()).toBe(server.pid);
  const pending = rejection(c.slow(30_000));
  await until(() => c.openChannels === 1);
  process.kill(server.pid, 'SIGSTOP');
  const error = await within(LOST_BOUND_MS, 'LostRemoteError', pending);
  expect(error).toBeInstanceOf(LostRemoteError);
  expect(error.message).toBe('Lost remote after 0.4s heartbeat');
  expect(c.openChannels).toBe(0);
});

test('a server killed mid-stream: the items received, then LostRemoteError', async () => {
  const server = await child();
  const c = client(server.endpoint);
  const seen: number[] = [];
  const iteration = rejection(
    (async () => {
      for await (const item of c.ticks(1000, 20)) {
        seen.push(item);
        if (item === 3) await server.kill();
      }
    })(),
  );
  const error = await within(LOST_BOUND_MS + 1000, 'the stream to fail', iteration);
  expect(error).toBeInstanceOf(LostRemoteError);
  expect(seen.slice(0, 4)).toEqual([0, 1, 2, 3]);
  expect(seen).toEqual(seen.map((_, i) => i));
  expect(c.openChannels).toBe(0);
});

test('a server restarted on the same endpoint: the pool recovers without a restart', async () => {
  const first = await child();
  const pool = new RPCClient<ChildApi>({
    endpoints: first.endpoint,
    max: 4,
    heartbeatMs: HEARTBEAT_MS,
    timeoutMs: 1000,
  });
  cleanups.push(() => pool.close());
  const pids = await Promise.all(Array.from({ length: 8 }, () => pool.pid()));
  expect(new Set(pids)).toEqual(new Set([first.pid]));

  // A call in flight when the server dies loses its connection for good.
  const inFlight = rejection(pool.slow(30_000));
  await until(() => pool.stats.borrowed === 1);
  await first.kill();
  expect(await within(LOST_BOUND_MS, 'LostRemoteError', inFlight)).toBeInstanceOf(LostRemoteError);
  // The server is out of rotation (and pinged until it answers again).
  await until(() => pool.stats.servers[0]?.state === 'ejected', 2000, 'the server to be ejected');
  expect(pool.stats.ejections).toBeGreaterThanOrEqual(1);

  // While the server is down, calls fail clearly within their timeout.
  const down = await within(3000, 'a call to a dead server', rejection(pool.add(1, 2)));
  expect(down).toBeInstanceOf(NotConnectedError);
  expect(down.message).toContain(`no server connected at ${first.endpoint}`);

  const second = await child(first.endpoint);
  expect(second.endpoint).toBe(first.endpoint);
  await until(
    async () => (await pool.pid().catch(() => undefined)) === second.pid,
    5000,
    'the pool to reach the new server',
  );
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.add(i, 1)));
  expect(after).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  expect(pool.stats.borrowed).toBe(0);
});

test('no server at all: NotConnectedError within the timeout, and the request is never sent late', async () => {
  const gone = await child();
  await gone.kill();
  const c = new Client<ChildApi>({ endpoints: gone.endpoint, timeoutMs: 300 });
  cleanups.push(() => c.close());
  const error = await within(2000, 'the call to fail', rejection(c.add(1, 2)));
  expect(error).toBeInstanceOf(NotConnectedError);
  expect(error).toBeInstanceOf(TimeoutError);
  expect(error.message).toBe(
    `timeout after 0.3s, when calling remote method add: no server connected at ${gone.endpoint}`,
  );
  expect(c.openChannels).toBe(0);

  // A server appears: the first request it gets is the next call, not the failed one.
  const router = new Router({ linger: 0 });
  cleanups.push(async () => router.close());
  await router.bind(gone.endpoint);
  const next = c.withOptions({ timeoutMs: 5000 }).add(2, 3);
  // (Health pings of the client's may come first: they are not calls.)
  let request = decodeEvent(new Uint8Array((await router.receive())[2]!));
  while (request.name === '_zerorpc_ping') {
    request = decodeEvent(new Uint8Array((await router.receive())[2]!));
  }
  expect([request.name, request.args]).toEqual(['add', [2, 3]]);
  await c.close();
  await rejection(next);
});
