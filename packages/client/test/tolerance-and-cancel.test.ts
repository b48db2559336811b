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
  const { client, server } = await pair(200, 100);
  const call = rejection(client.slow(5000));
  // A heartbeat shows the server's pace; then the server goes away without a word.
  await waitFor(() => server.stats.running === 1, 2000, 'the call to run');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = Date.now();
  // close() with a long grace waits, sending nothing but heartbeats... so close the socket outright.
  (server as unknown as { socket: { close(): void } }).socket.close();
  const error = await call;
  expect(error).toBeInstanceOf(LostRemoteError);
  expect((error as LostRemoteError).heartbeatMs).toBe(200);
  expect(Date.now() - stopped).toBeLessThan(2 * 200 + 1000);
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

test('a call timing out after the server showed it speaks zrpc is cancelled too', async () => {
  const { client, server } = await pair(60_000, 100);
  await rejection(client.withOptions({ timeoutMs: 300 }).slow(30_000));
  await waitFor(() => server.stats.cancelledByClient === 1, 2000, 'the cancel');
  expect(server.stats.running).toBe(0);
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
