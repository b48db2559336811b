import { Registry } from '@zrpc/core';
import { expect, test } from 'vitest';
import { Server } from '../src/index.js';
import { quietLogger, serverPerTest } from './helpers.js';

const session = serverPerTest();

test('durations are checked like the client’s: a heartbeat a Node timer cannot wait is refused', () => {
  expect(() => new Server({ heartbeatMs: 2 ** 31, logger: quietLogger() })).toThrow(
    'heartbeatMs must be a positive number of milliseconds up to 2147483647, got 2147483648',
  );
  expect(() => new Server({ heartbeatMs: 0, logger: quietLogger() })).toThrow(RangeError);
  expect(() => new Server({ heartbeatMs: 2 ** 31 - 1, logger: quietLogger() })).not.toThrow();
});

test('socket options reach the ROUTER: a message over maxMessageSize is refused by ZeroMQ itself', async () => {
  const registry = new Registry();
  registry.register(function size(text: string) {
    return text.length;
  });
  const { client } = await session.start({ registry, socket: { maxMessageSize: 4096 } });
  client.request('size', ['x'.repeat(100)]);
  expect((await client.nextReply()).args).toEqual([100]);

  // Over the limit, libzmq drops the connection: no reply ever comes.
  client.request('size', ['x'.repeat(10_000)]);
  await expect(client.nextReply(500)).rejects.toThrow();
});
