import { LostRemoteError } from '@zrpc/core';
import { loadVectors } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Client } from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { serverLog } from './fixtures/provider.js';
import { rejection } from './helpers/deadline.js';
import { ReplayServer } from './helpers/replay-server.js';
import { startServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

type Api = typeof Provider;

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function pair(serverHeartbeatMs: number, clientHeartbeatMs: number) {
  const { server, endpoint } = await startServer({ heartbeatMs: serverHeartbeatMs });
  open.push(() => server.close({ graceMs: 0 }));
  const client = new Client<Api>({ endpoints: endpoint, heartbeatMs: clientHeartbeatMs });
  open.push(() => client.close());
  return { server, client };
}

test('a client at a 100 ms heartbeat calling a server at 1 s: a 700 ms call is not lost', async () => {
  const { client, server } = await pair(1000, 100);
  expect(await client.slow(700)).toBe('slept 700');
  expect(server.stats.lostRemotes).toBe(0);
});

test('a client at 1 s calling a server at 100 ms: the server does not lose it', async () => {
  const { client, server } = await pair(100, 1000);
  expect(await client.slow(700)).toBe('slept 700');
  expect(server.stats.lostRemotes).toBe(0);
});

test('a dead server is still detected: within two intervals of the slower side', async () => {
  const { server, endpoint } = await startServer({ heartbeatMs: 200 });
  open.push(() => server.close({ graceMs: 0 }));
  // A routing id of its own: a dropped connection does not end its calls
  // (see connection.ts), so only the heartbeats can tell the server is gone.
  const client = new Client<Api>({
    endpoints: endpoint,
    heartbeatMs: 100,
    socket: { routingId: 'fixed-id' },
  });
  open.push(() => client.close());
  const call = rejection(client.slow(5000));
  // A heartbeat shows the server's pace; then the server goes away without a word.
  await waitFor(() => server.stats.running === 1, 2000, 'the call to run');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = Date.now();
  // close() with a long grace waits, sending nothing but heartbeats... so close the socket outright.
  (server as unknown as { transport: { socket: { close(): void } } }).transport.socket.close();
  const error = await call;
  expect(error).toBeInstanceOf(LostRemoteError);
  expect((error as LostRemoteError).heartbeatMs).toBe(200);
  expect(Date.now() - stopped).toBeLessThan(2 * 200 + 1000);
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
  await waitFor(() => server.stats.running === 0, 2000, 'the slot to be freed');
  expect(server.stats).toMatchObject({ cancelledByClient: 1, openChannels: 0, lostRemotes: 0 });
  expect(serverLog).toContain('forever(left) finally');
});

test('an aborted call, once the server showed it speaks zrpc, is cancelled on the server', async () => {
  // The server beats at the client's 100 ms: its first heartbeat says it is a zrpc server.
  const { client, server } = await pair(60_000, 100);
  serverLog.length = 0;
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(30_000));
  await new Promise((resolve) => setTimeout(resolve, 250));
  controller.abort(new Error('changed my mind'));
  expect(((await call) as Error).message).toBe('changed my mind');
  await waitFor(() => server.stats.running === 0, 2000, 'the slot to be freed');
  expect(server.stats.cancelledByClient).toBe(1);
  expect(serverLog).toContain('slow(30000) cancelled');
});

test('a call aborted before its first reply is cancelled once the connection has heard from a zrpc server', async () => {
  // Heartbeats of a minute: the call itself says nothing before it is aborted.
  const { client, server } = await pair(60_000, 60_000);
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(30_000));
  await waitFor(() => server.stats.running === 1, 2000, 'the first call to run');
  controller.abort(new Error('first'));
  await call;
  // Nothing told this connection yet that its server speaks zrpc: no cancel.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(server.stats).toMatchObject({ running: 1, cancelledByClient: 0 });

  // One answered call later, the connection knows.
  expect(await client.add(1, 2)).toBe(3);
  const second = new AbortController();
  const next = rejection(client.withOptions({ signal: second.signal }).slow(30_000));
  await waitFor(() => server.stats.running === 2, 2000, 'the second call to run');
  second.abort(new Error('second'));
  await next;
  await waitFor(() => server.stats.cancelledByClient === 1, 2000, 'the cancel');
  expect(server.stats.running).toBe(1);
});

test('a call timing out after the server showed it speaks zrpc is cancelled too', async () => {
  const { client, server } = await pair(60_000, 100);
  await rejection(client.withOptions({ timeoutMs: 300 }).slow(30_000));
  await waitFor(() => server.stats.cancelledByClient === 1, 2000, 'the cancel');
  // The slot goes back once the handler, aborted, has settled.
  await waitFor(() => server.stats.running === 0, 2000, 'the slot back');
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
  await new Promise((resolve) => setTimeout(resolve, 300));
  const names = server.sessions.flatMap((session) => session.events.map((e) => e.event.name));
  // Heartbeats and credit only, as from the reference client; no _zpc_cancel.
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) expect(['_zpc_hb', '_zpc_more']).toContain(name);
  expect(names).not.toContain('_zpc_cancel');
});

test('against a replayed zerorpc-python server, a call answered and then one aborted send no _zpc_cancel', async () => {
  const scenarios = loadVectors('zerorpc-python-server.json').scenarios.filter((s) =>
    ['add', 'heartbeat_slow_call'].includes(s.name),
  );
  const server = await ReplayServer.start(scenarios);
  open.push(async () => server.close());
  const client = new Client<{
    add(a: number, b: number): Promise<number>;
    slow(seconds: number): Promise<string>;
  }>({ endpoints: server.endpoint, heartbeatMs: 100 });
  open.push(() => client.close());
  // The connection has heard from this server: it showed no zrpc_hb.
  expect(await client.add(1, 2)).toBe(3);
  const controller = new AbortController();
  const call = rejection(client.withOptions({ signal: controller.signal }).slow(2.5));
  await new Promise((resolve) => setTimeout(resolve, 300));
  controller.abort(new Error('changed my mind'));
  expect(((await call) as Error).message).toBe('changed my mind');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const names = server.sessions.flatMap((session) => session.events.map((e) => e.event.name));
  expect(names).toContain('_zpc_hb'); // the aborted call's channel did speak before the abort
  expect(names).not.toContain('_zpc_cancel');
});
