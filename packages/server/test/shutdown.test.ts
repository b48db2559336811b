import { setTimeout as sleepFor } from 'node:timers/promises';
import { callSignal, Registry } from '@zrpc/core';
import { afterEach, expect, test } from 'vitest';
import type { Server } from '../src/index.js';
import { RawClient, readStream, sleep, startServer } from './helpers.js';

const clients: RawClient[] = [];
let server: Server | undefined;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close({ graceMs: 0 });
  server = undefined;
});

function connect(endpoint: string): RawClient {
  const client = new RawClient(endpoint);
  clients.push(client);
  return client;
}

function shutdownRegistry(log: string[]) {
  const registry = new Registry();
  registry.register(async function work(ms: number) {
    await sleepFor(ms, undefined, { signal: callSignal() });
    return `worked ${ms}`;
  });
  registry.register(
    async function* ticks(n: number, ms: number) {
      for (let i = 0; i < n; i++) {
        await sleepFor(ms, undefined, { signal: callSignal() });
        yield i;
      }
    },
    { stream: true },
  );
  registry.register(async function forever() {
    const signal = callSignal()!;
    try {
      await sleepFor(60_000, undefined, { signal });
    } finally {
      log.push(`forever aborted: ${(signal.reason as Error)?.name}`);
    }
  });
  return registry;
}

test('close(): calls and a stream in flight finish within the grace period, a call outliving it is cancelled', async () => {
  const log: string[] = [];
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry: shutdownRegistry(log) }));
  const caller = connect(endpoint);
  const streamer = connect(endpoint);
  const stubborn = connect(endpoint);

  caller.request('work', [300]);
  const streamId = streamer.request('ticks', [5, 60]);
  stubborn.request('forever', []);
  await caller.until(() => server!.stats.openChannels === 3, 5000);

  const closing = server.close({ graceMs: 1500 });
  expect(server.close()).toBe(closing);
  const stream = await readStream(streamer, streamId);
  await closing;

  expect(await caller.nextReply()).toMatchObject({ name: 'OK', args: ['worked 300'] });
  expect(stream.items).toEqual([0, 1, 2, 3, 4]);
  expect(stream.final.name).toBe('STREAM_DONE');
  const cancelled = await stubborn.nextReply();
  expect(cancelled.name).toBe('ERR');
  expect((cancelled.args as string[]).slice(0, 2)).toEqual([
    'ServerClosingError',
    'the server shut down before the call finished (grace 1500 ms)',
  ]);
  expect(log).toEqual(['forever aborted: ServerClosingError']);
  expect(server.stats.openChannels).toBe(0);
});

test('while closing, new requests are refused with ServerDrainingError; after close nothing answers', async () => {
  const log: string[] = [];
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry: shutdownRegistry(log) }));
  const busy = connect(endpoint);
  const late = connect(endpoint);

  busy.request('work', [400]);
  await busy.until(() => server!.stats.openChannels === 1, 5000);
  const closing = server.close({ graceMs: 5000 });
  late.request('work', [1]);
  const refused = await late.nextReply();
  expect(refused.name).toBe('ERR');
  expect((refused.args as string[]).slice(0, 2)).toEqual([
    'ServerDrainingError',
    'the server is shutting down; the call was not run',
  ]);
  expect(server.stats.rejectedClosing).toBe(1);

  await closing;
  expect(await busy.nextReply()).toMatchObject({ name: 'OK', args: ['worked 400'] });

  late.request('work', [1]);
  await sleep(300);
  expect(late.replies).toBe(1);
  await expect(server.bind('tcp://127.0.0.1:*')).rejects.toThrow(/closed/);
});

test('close() with nothing in flight, or before any bind, resolves at once', async () => {
  ({ server } = await startServer({ registry: new Registry() }));
  await server.close();
  const { Server } = await import('../src/index.js');
  await new Server({ registry: new Registry() }).close();
});
