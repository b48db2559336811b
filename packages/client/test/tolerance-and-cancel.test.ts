// Heartbeats of different paces on the two sides, and cancellation. Server
// and client run on one fake clock where the test is about time: requests
// and replies cross real sockets, and the test moves time only once what it
// waits for has arrived.
import { LostRemoteError } from '@zrpc/core';
import { FakeClock, loadVectors, nextTurns, rejection, until, within } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Client } from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { handlerClock, serverLog } from './fixtures/provider.js';
import { ReplayServer } from './helpers/replay-server.js';
import { startServer } from './helpers/server.js';

type Api = typeof Provider;

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
  handlerClock.current = realHandlerClock;
});

const realHandlerClock = handlerClock.current;

/** A provider server and a client on one fake clock (the provider's `slow` waits on it too). */
async function pair(serverHeartbeatMs: number, clientHeartbeatMs: number) {
  const fake = new FakeClock();
  handlerClock.current = fake;
  const { server, endpoint } = await startServer({ heartbeatMs: serverHeartbeatMs, clock: fake });
  open.push(() => fake.run(server.close({ graceMs: 0, drainMs: 0 })));
  const client = new Client<Api>({
    endpoints: endpoint,
    heartbeatMs: clientHeartbeatMs,
    clock: fake,
  });
  open.push(() => client.close());
  return { server, client, clock: fake };
}

/**
 * Whether the client's connection has heard a zrpc server advertise its
 * heartbeat (internal state, read here because a test must know the
 * heartbeat arrived before it moves time on).
 */
function heardZrpc(client: Client<Api>): boolean {
  const rotation = (
    client as unknown as {
      rotation: { order: Array<{ connection: { serverHeartbeatMs?: number } }> };
    }
  ).rotation;
  return rotation.order.some((link) => link.connection.serverHeartbeatMs !== undefined);
}

test('a client at a 100 ms heartbeat calling a server at 1 s: a 700 ms call is not lost', async () => {
  const { client, server, clock } = await pair(1000, 100);
  const call = client.slow(700);
  await until(() => server.stats.running === 1, 5000, 'the call to run');
  await clock.advanceAsync(700);
  expect(await within(5000, 'the reply', call)).toBe('slept 700');
  expect(server.stats.lostRemotes).toBe(0);
});

test('a client at 1 s calling a server at 100 ms: the server does not lose it', async () => {
  const { client, server, clock } = await pair(100, 1000);
  const call = client.slow(700);
  await until(() => server.stats.running === 1, 5000, 'the call to run');
  await clock.advanceAsync(700);
  expect(await within(5000, 'the reply', call)).toBe('slept 700');
  expect(server.stats.lostRemotes).toBe(0);
});

test('a dead server is detected two intervals of the slower side after it was last heard', async () => {
  const clock = new FakeClock();
  handlerClock.current = clock;
  const { server, endpoint } = await startServer({ heartbeatMs: 200, clock });
  open.push(() => clock.run(server.close({ graceMs: 0, drainMs: 0 })));
  // A routing id of its own: a dropped connection does not end its calls
  // (see connection.ts), so only the heartbeats can tell the server is gone.
  const client = new Client<Api>({
    endpoints: endpoint,
    heartbeatMs: 100,
    socket: { routingId: 'fixed-id' },
    clock,
  });
  open.push(() => client.close());
  // An answer shows the server's pace (200 ms) to the connection.
  expect(await client.add(1, 2)).toBe(3);
  let settled = false;
  const call = rejection(client.slow(5000)).finally(() => (settled = true));
  await until(() => server.stats.running === 1, 5000, 'the call to run');
  // Then the server goes away without a word (close() would send heartbeats
  // through its grace period... so close the socket outright).
  (server as unknown as { transport: { socket: { close(): void } } }).transport.socket.close();
  clock.advance(2 * 200 - 1);
  await nextTurns();
  expect(settled).toBe(false);
  clock.advance(1);
  const error = await within(5000, 'the lost call', call);
  expect(error).toBeInstanceOf(LostRemoteError);
  expect((error as LostRemoteError).heartbeatMs).toBe(200);
});

test('a client at 200 ms calling a replayed zerorpc-python server at 1 s: not lost before its first heartbeat', async () => {
  // The reference server's first heartbeat comes 1 s after the request;
  // until a peer that does not advertise its pace shows it, the client
  // assumes the reference's (5 s by default).
  const slowCall = loadVectors('zerorpc-python-server.json').scenarios.find(
    (s) => s.name === 'heartbeat_slow_call',
  )!;
  const server = await ReplayServer.start([slowCall]);
  open.push(async () => server.close());
  const client = new Client<{ slow(seconds: number): Promise<string> }>({
    endpoints: server.endpoint,
    heartbeatMs: 200,
  });
  open.push(() => client.close());
  expect(await client.slow(2.5)).toBe('slept 2.5');

  // The control: assuming the server beats as fast as we do loses it.
  const hasty = new Client<{ slow(seconds: number): Promise<string> }>({
    endpoints: server.endpoint,
    heartbeatMs: 200,
    assumedPeerHeartbeatMs: 200,
  });
  open.push(() => hasty.close());
  const error = await rejection(hasty.slow(2.5));
  expect(error).toBeInstanceOf(LostRemoteError);
  expect((error as LostRemoteError).heartbeatMs).toBe(200);
});

test('a consumer that leaves a stream early cancels it: the server frees the slot at once', async () => {
  // Heartbeats of a minute: only the cancel can free the call this fast.
  const { client, server } = await pair(60_000, 60_000);
  serverLog.length = 0;
  for await (const item of await client.forever('left')) if (item === 5) break;
  await until(() => server.stats.running === 0, 2000, 'the slot to be freed');
  expect(server.stats).toMatchObject({ cancelledByClient: 1, openChannels: 0, lostRemotes: 0 });
  expect(serverLog).toContain('forever(left) finally');
});

test('an aborted call, once the server showed it speaks zrpc, is cancelled on the server', async () => {
  // The server beats at the client's 100 ms: its first heartbeat says it is a zrpc server.
  const { client, server, clock } = await pair(60_000, 100);
  serverLog.length = 0;
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(30_000));
  await until(() => server.stats.running === 1, 5000, 'the call to run');
  clock.advance(100);
  await until(() => heardZrpc(client), 5000, "the server's first heartbeat");
  controller.abort(new Error('changed my mind'));
  expect(((await call) as Error).message).toBe('changed my mind');
  await until(() => server.stats.running === 0, 2000, 'the slot to be freed');
  expect(server.stats.cancelledByClient).toBe(1);
  expect(serverLog).toContain('slow(30000) cancelled');
});

test('a call aborted before its first reply is cancelled once the connection has heard from a zrpc server', async () => {
  // Heartbeats of a minute: the call itself says nothing before it is aborted.
  const { client, server } = await pair(60_000, 60_000);
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(30_000));
  await until(() => server.stats.running === 1, 2000, 'the first call to run');
  controller.abort(new Error('first'));
  await call;
  // Nothing told this connection yet that its server speaks zrpc: no cancel
  // (one would have reached the server before the next request, on the same socket).
  expect(await client.add(1, 2)).toBe(3);
  expect(server.stats).toMatchObject({ running: 1, cancelledByClient: 0 });

  // One answered call later, the connection knows.
  const second = new AbortController();
  const next = rejection(client.withOptions({ signal: second.signal }).slow(30_000));
  await until(() => server.stats.running === 2, 2000, 'the second call to run');
  second.abort(new Error('second'));
  await next;
  await until(() => server.stats.cancelledByClient === 1, 2000, 'the cancel');
  expect(server.stats.running).toBe(1);
});

test('a call timing out after the server showed it speaks zrpc is cancelled too', async () => {
  const { client, server, clock } = await pair(60_000, 100);
  const call = rejection(client.withOptions({ timeoutMs: 300 }).slow(30_000));
  await until(() => server.stats.running === 1, 5000, 'the call to run');
  clock.advance(100);
  await until(() => heardZrpc(client), 5000, "the server's first heartbeat");
  clock.advance(200);
  expect((await within(5000, 'the timeout', call)).name).toBe('TimeoutError');
  await until(() => server.stats.cancelledByClient === 1, 5000, 'the cancel');
  // The slot goes back once the handler, aborted, has settled.
  await until(() => server.stats.running === 0, 5000, 'the slot back');
});

test('against a replayed zerorpc-python server, leaving a stream early sends nothing new', async () => {
  const vectors = loadVectors('zerorpc-python-server.json');
  const stream = vectors.scenarios.find((s) => s.name === 'stream_250')!;
  const server = await ReplayServer.start([stream]);
  open.push(async () => server.close());
  const client = new Client<{ count(n: number): Promise<AsyncIterable<number>> }>({
    endpoints: server.endpoint,
    heartbeatMs: 100,
  });
  open.push(() => client.close());
  for await (const item of await client.count(250)) if (item === 3) break;
  await afterAllSent(client, server);
  const names = server.sessions.flatMap((session) => session.events.map((e) => e.event.name));
  // Heartbeats and credit only, as from the reference client; no _zpc_cancel.
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) expect(['_zpc_hb', '_zpc_more']).toContain(name);
  expect(names).not.toContain('_zpc_cancel');
});

test('against a replayed zerorpc-python server, a call answered and then one aborted send no _zpc_cancel', async () => {
  const clock = new FakeClock();
  const scenarios = loadVectors('zerorpc-python-server.json').scenarios.filter((s) =>
    ['add', 'heartbeat_slow_call'].includes(s.name),
  );
  const server = await ReplayServer.start(scenarios);
  open.push(async () => server.close());
  const client = new Client<{
    add(a: number, b: number): Promise<number>;
    slow(seconds: number): Promise<string>;
  }>({ endpoints: server.endpoint, heartbeatMs: 100, clock });
  open.push(() => client.close());
  // The connection has heard from this server: it showed no zrpc_hb.
  expect(await client.add(1, 2)).toBe(3);
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(2.5));
  // The call's channel speaks (a heartbeat at 100 ms), then it is aborted.
  await until(() => server.sessions.length === 2, 5000, 'the call to arrive');
  clock.advance(100);
  await until(() => server.sessions[1]!.events.length > 0, 5000, 'its heartbeat');
  controller.abort(new Error('changed my mind'));
  expect(((await call) as Error).message).toBe('changed my mind');
  await afterAllSent(client, server);
  const names = server.sessions.flatMap((session) => session.events.map((e) => e.event.name));
  expect(names).toContain('_zpc_hb'); // the aborted call's channel did speak before the abort
  expect(names).not.toContain('_zpc_cancel');
});

/**
 * Resolves once the replay server has received a request sent after
 * everything the client sent so far (one socket, in order): a cancel, had
 * one been sent, has arrived. The request matches no recording; it is
 * aborted once seen.
 */
async function afterAllSent(client: Client<any>, server: ReplayServer): Promise<void> {
  const controller = new AbortController();
  const marker = client
    .withOptions({ signal: controller.signal })
    .call('marker')
    .catch(() => {});
  await until(() => server.unmatched.some((r) => r.name === 'marker'), 5000, 'the marker');
  controller.abort();
  await marker;
}
