import { Registry } from '@zrpc/core';
import { MAX_CREDIT } from '@zrpc/core/protocol';
import { expect, test } from 'vitest';
import { RawClient, serverPerTest } from './helpers.js';

const session = serverPerTest();
const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});
registry.register(function blob(n: number) {
  return new Uint8Array(n);
});
registry.register(function size(bytes: Uint8Array) {
  return bytes.length;
});
registry.register(
  function* forever() {
    for (let i = 0; ; i++) yield i;
  },
  { stream: true },
);

const MiB = 1024 * 1024;

test('a request over maxMessageSize is never buffered: its peer is cut off, others are served', async () => {
  const { client, server, endpoint } = await session.start({
    registry,
    socket: { maxMessageSize: MiB },
  });
  client.request('add', [Buffer.alloc(2 * MiB), 1]);
  await client.until(() => client.disconnects > 0, 5000, 'the server to cut the peer off');
  expect(server.stats.calls).toBe(0);
  const other = new RawClient(endpoint);
  try {
    other.request('add', [1, 2]);
    expect(await other.nextReply()).toMatchObject({ name: 'OK', args: [3] });
  } finally {
    await other.close();
  }
});

test('the default maxMessageSize is 16 MiB', async () => {
  const { server, client } = await session.start({ registry });
  client.request('size', [Buffer.alloc(15 * MiB)]);
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [15 * MiB] });
  client.request('size', [Buffer.alloc(17 * MiB)]);
  await client.until(() => client.disconnects > 0, 5000, 'the server to cut the peer off');
  expect(server.stats.calls).toBe(1);
});

test('a reply over maxMessageSize is refused with an ERR naming the limit', async () => {
  const { client } = await session.start({ registry, socket: { maxMessageSize: MiB } });
  client.request('blob', [2 * MiB]);
  const reply = await client.nextReply();
  expect(reply.name).toBe('ERR');
  expect((reply.args as string[])[1]).toMatch(/over maxMessageSize \(1048576\)/);
  client.request('blob', [10]);
  expect((await client.nextReply()).name).toBe('OK');
});

test(`a grant of a billion events is honoured up to ${MAX_CREDIT}: nothing is pushed beyond`, async () => {
  const { client, server } = await session.start({ registry, heartbeatMs: 60_000 });
  const id = client.request('forever', []);
  await client.nextReply();
  client.onChannel(id, '_zpc_more', [1_000_000_000]);
  await client
    .until(() => client.replies >= MAX_CREDIT + 1, 5000, 'the granted events')
    .catch((error) => {
      throw new Error(`${error.message}: ${client.replies} replies`);
    });
  await client.roundTrip();
  expect(client.replies).toBe(MAX_CREDIT + 1);
  expect(server.stats.running).toBe(1);
});
