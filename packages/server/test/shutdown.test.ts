// Shutdown on a fake clock: the grace period and the handlers' waits move
// only when the test moves time, so that "finished within the grace" and
// "cancelled at its end" are checked at exact times.
import { callSignal, Registry } from '@zrpc/core';
import { FakeClock } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import type { Server } from '../src/index.js';
import { RawClient, startServer, until } from './helpers.js';

const clients: RawClient[] = [];
let server: Server | undefined;
let clock: FakeClock;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  if (server) await clock.run(server.close({ graceMs: 0 }));
  server = undefined;
});

function connect(endpoint: string): RawClient {
  const client = new RawClient(endpoint);
  clients.push(client);
  return client;
}

/** The methods, waiting on `clock`; `waits` counts the waits each has begun. */
function shutdownRegistry(log: string[]) {
  const waits = { work: 0, ticks: 0 };
  const registry = new Registry();
  registry.register(async function work(ms: number) {
    waits.work++;
    await clock.sleep(ms, callSignal());
    return `worked ${ms}`;
  });
  registry.register(
    async function* ticks(n: number, ms: number) {
      for (let i = 0; i < n; i++) {
        waits.ticks++;
        await clock.sleep(ms, callSignal());
        yield i;
      }
    },
    { stream: true },
  );
  registry.register(async function forever() {
    const signal = callSignal()!;
    try {
      await clock.sleep(60_000, signal);
    } finally {
      log.push(`forever aborted at ${clock.now() - closedAt}: ${(signal.reason as Error)?.name}`);
    }
  });
  return { registry, waits };
}

/** When `close()` was called, in fake time. */
let closedAt = 0;

test('close(): calls and a stream in flight finish within the grace period, a call outliving it is cancelled at its end', async () => {
  clock = new FakeClock();
  const log: string[] = [];
  const { registry, waits } = shutdownRegistry(log);
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry, clock }));
  const caller = connect(endpoint);
  const streamer = connect(endpoint);
  const stubborn = connect(endpoint);

  caller.request('work', [300]);
  const streamId = streamer.request('ticks', [5, 60]);
  // Credit for the whole stream, known to have arrived before time moves.
  streamer.onChannel(streamId, '_zpc_more', [10]);
  await streamer.roundTrip();
  stubborn.request('forever', []);
  await until(() => server!.stats.openChannels === 3 && waits.work === 1, 5000, 'the calls');

  closedAt = clock.now();
  const closing = server.close({ graceMs: 1500 });
  expect(server.close()).toBe(closing);
  // An item every 60 ms of fake time, each one read before time moves on.
  for (let i = 0; i < 5; i++) {
    await until(() => waits.ticks === i + 1, 5000, `the wait before item ${i}`);
    clock.advance(60);
    expect(await streamer.nextReply()).toMatchObject({ name: 'STREAM', args: i });
  }
  expect(await streamer.nextReply()).toMatchObject({ name: 'STREAM_DONE' });
  expect(await caller.nextReply()).toMatchObject({ name: 'OK', args: ['worked 300'] });

  clock.advance(1500 - 300 - 1);
  await stubborn.roundTrip();
  expect(log).toEqual([]);
  clock.advance(1);
  await until(() => log.length > 0, 5000, 'the abort');
  expect(log).toEqual(['forever aborted at 1500: ServerClosingError']);
  const cancelled = await stubborn.nextReply();
  expect(cancelled.name).toBe('ERR');
  expect((cancelled.args as string[]).slice(0, 2)).toEqual([
    'ServerClosingError',
    'the server shut down before the call finished (grace 1500 ms)',
  ]);
  await clock.run(closing);
  expect(server.stats.openChannels).toBe(0);
  expect(server.state).toBe('closed');
});

test('while closing, new requests are refused with ServerDrainingError; once closed, the socket is gone', async () => {
  clock = new FakeClock();
  const { registry, waits } = shutdownRegistry([]);
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry, clock }));
  const busy = connect(endpoint);
  const late = connect(endpoint);

  busy.request('work', [400]);
  await until(() => server!.stats.openChannels === 1 && waits.work === 1, 5000, 'the call');
  const closing = server.close({ graceMs: 5000 });
  late.request('work', [1]);
  const refused = await late.nextReply();
  expect(refused.name).toBe('ERR');
  expect((refused.args as string[]).slice(0, 2)).toEqual([
    'ServerDrainingError',
    'the server is shutting down; the call was not run',
  ]);
  expect(server.stats.rejectedClosing).toBe(1);
  expect(server.state).toBe('draining');

  clock.advance(400);
  expect(await busy.nextReply()).toMatchObject({ name: 'OK', args: ['worked 400'] });
  await clock.run(closing);
  expect(server.state).toBe('closed');
  await until(() => late.disconnects > 0, 5000, 'the connection to drop');
  expect(late.replies).toBe(1);
  await expect(server.bind('tcp://127.0.0.1:*')).rejects.toThrow(/closed/);
});

test('close() with nothing in flight, or before any bind, resolves at once', async () => {
  clock = new FakeClock();
  ({ server } = await startServer({ registry: new Registry() }));
  await server.close();
  const { Server } = await import('../src/index.js');
  await new Server({ registry: new Registry() }).close();
});
