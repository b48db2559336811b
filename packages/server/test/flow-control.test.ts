import { Registry } from '@zrpc/core';
import { expect, test } from 'vitest';
import { readStream, serverPerTest } from './helpers.js';

const session = serverPerTest();

test('a 100,000-item stream reaches a reference-like client that never holds more than 100 events', async () => {
  const registry = new Registry();
  let produced = 0;
  registry.register(
    function* numbers(n: number) {
      for (let i = 0; i < n; i++) {
        produced++;
        yield i;
      }
    },
    { stream: true },
  );
  const { server, client } = await session.start({ registry });

  const id = client.request('numbers', [100_000]);
  let inOrder = true;
  let producedAhead = 0;
  const read = await readStream(client, id, (item, index) => {
    if (item !== index) inOrder = false;
    // The generator is pulled only when an item can be sent: it is never
    // further ahead of the reader than the credit the reader granted.
    producedAhead = Math.max(producedAhead, produced - index);
    // A slow moment now and then (a round trip to the server without
    // reading the stream), so that a server ignoring credit would overrun.
    if (index % 20_000 === 0) return client.roundTrip();
  });

  expect(read.final.name).toBe('STREAM_DONE');
  expect(read.items).toHaveLength(100_000);
  expect(inOrder).toBe(true);
  expect(read.maxOverrun).toBeLessThanOrEqual(0);
  expect(read.maxOutstanding).toBeLessThanOrEqual(100);
  expect(producedAhead).toBeLessThanOrEqual(101);
  expect(server.stats.openChannels).toBe(0);
}, 60_000);

test('a client that never grants credit gets exactly one STREAM, and the generator is not drained', async () => {
  const registry = new Registry();
  let produced = 0;
  registry.register(
    function* endless() {
      for (;;) yield produced++;
    },
    { stream: true },
  );
  const { server, client } = await session.start({ registry });

  client.request('endless', []);
  const first = await client.nextReply();
  expect(first).toMatchObject({ name: 'STREAM', args: 0 });
  // Whatever else the server does meanwhile, it must not send a second item.
  await client.roundTrip();
  expect(client.replies).toBe(1);
  expect(produced).toBeLessThanOrEqual(2);
  expect(server.stats.openChannels).toBe(1);
});

test('the stream resumes where it stopped when credit comes', async () => {
  const registry = new Registry();
  registry.register(
    function* count(n: number) {
      for (let i = 0; i < n; i++) yield i;
    },
    { stream: true },
  );
  const { client } = await session.start({ registry });

  const id = client.request('count', [5]);
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM', args: 0 });
  client.onChannel(id, '_zpc_more', [2]);
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM', args: 1 });
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM', args: 2 });
  await client.roundTrip();
  expect(client.replies).toBe(3);
  client.onChannel(id, '_zpc_more', [10]);
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM', args: 3 });
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM', args: 4 });
  expect(await client.nextReply()).toMatchObject({ name: 'STREAM_DONE', args: null });
});
