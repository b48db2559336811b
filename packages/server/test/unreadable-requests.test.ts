import { Registry } from '@zrpc/core';
import { encodeValue, MAX_DEPTH } from '@zrpc/core/protocol';
import { expect, test } from 'vitest';
import { serverPerTest } from './helpers.js';

/*
 * Every request whose id can be read is answered: what the decoder refuses
 * gets an ERR naming the reason, at once, instead of the caller's timeout.
 */

const session = serverPerTest();
const registry = new Registry();
registry.register(function echo(value: unknown) {
  return value;
});

/** A request for `echo` whose one argument is `argBytes`, already encoded msgpack. */
function rawRequest(id: Uint8Array, argBytes: Buffer): Buffer {
  const head = Buffer.from(encodeValue({ message_id: id, v: 3 }));
  return Buffer.concat([
    Buffer.from([0x93]),
    head,
    Buffer.from(encodeValue('echo')),
    Buffer.from([0x91]),
    argBytes,
  ]);
}

test.each([
  [
    'nesting beyond the limit',
    Buffer.concat([Buffer.alloc(MAX_DEPTH + 10, 0x91), Buffer.from([0xc0])]),
    /nesting deeper/,
  ],
  ['text that is not UTF-8', Buffer.from('a2c328', 'hex'), /UTF-8/],
])('%s: ERR ProtocolError naming the reason, at once', async (_label, arg, reason) => {
  const { client, server } = await session.start({ registry });
  const id = client.ids.next();
  client.sendFrames([Buffer.alloc(0), rawRequest(id, arg)]);
  const reply = await client.nextReply(2000);
  expect(reply.name).toBe('ERR');
  expect(Buffer.from(reply.header.response_to as Uint8Array)).toEqual(Buffer.from(id));
  const [name, message] = reply.args as string[];
  expect(name).toBe('ProtocolError');
  expect(message).toMatch(/cannot decode the request for echo/);
  expect(message).toMatch(reason);
  expect(server.stats.badFrames).toBe(1);
  expect(server.stats.openChannels).toBe(0);
});

test.each([
  ['integer', '01', 1],
  ['bytes', 'c4020102', new Uint8Array([1, 2])],
  ['bool', 'c3', true],
  ['nil', 'c0', null],
  // As the reference server echoes it; decoded into a Map, no prototype is touched.
  ['__proto__', Buffer.from(encodeValue('__proto__')).toString('hex'), '__proto__'],
])('a map with a %s key is echoed with its key as it was', async (_label, key, value) => {
  const { client } = await session.start({ registry });
  // (String keys come first in the Map a decode makes: the order of the wire when they were first.)
  const map = Buffer.from(`82a16b02${key}a161`, 'hex');
  client.sendFrames([Buffer.alloc(0), rawRequest(client.ids.next(), map)]);
  const reply = await client.nextReply(2000);
  expect(reply.name).toBe('OK');
  const echoed = (reply.args as [Map<unknown, unknown>])[0];
  expect(echoed).toEqual(
    new Map<unknown, unknown>([
      ['k', 2],
      [value, 'a'],
    ]),
  );
  // The reply's bytes carry the map exactly as sent.
  const raw = client.received.at(-1)!.raw;
  expect(raw.includes(map)).toBe(true);
  expect({}).not.toHaveProperty('k');
});

test('a __proto__ key in the request header is task context like any other key', async () => {
  const seen: Array<Record<string, unknown>> = [];
  const { client } = await session.start({
    registry,
    middleware: [
      async (ctx, next) => {
        seen.push(ctx.taskContext);
        await next();
      },
    ],
  });
  const header = JSON.parse('{"__proto__": {"admin": true}, "trace_id": "t-1"}');
  client.request('echo', [1], header);
  const reply = await client.nextReply(2000);
  expect([reply.name, reply.args]).toEqual(['OK', [1]]);
  const context = seen[0]!;
  expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
  expect(context).not.toHaveProperty('admin');
  expect(Object.getOwnPropertyDescriptor(context, '__proto__')?.value).toEqual({ admin: true });
  expect(context.trace_id).toBe('t-1');
  expect({}).not.toHaveProperty('admin');
});

test('a value nested 300 deep is echoed (the reference echoes 257)', async () => {
  const { client } = await session.start({ registry });
  let value: unknown = 'core';
  for (let i = 0; i < 300; i++) value = [value];
  client.request('echo', [value]);
  const reply = await client.nextReply(2000);
  expect(reply).toMatchObject({ name: 'OK', args: [value] });
});
