import { setImmediate as nextTurn } from 'node:timers/promises';
import { Registry } from '@zrpc/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Server } from '../src/index.js';
import { headerOf, RawClient, readStream, startServer, withPlainBytes } from './helpers.js';

let server: Server;
let endpoint: string;
let closedByFinally: string[];

class CustomError extends Error {}
class NamedError extends Error {
  override name = 'Renamed';
}

function dispatchRegistry(): Registry {
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  registry.register(function nothing() {
    return undefined;
  });
  registry.register(function big() {
    return 2n ** 63n;
  });
  registry.register(function tooBig() {
    return 2n ** 70n;
  });
  registry.register(function aFunction() {
    return { callback: () => 1 };
  });
  // A plain function handing back a generator (registration refuses generator functions).
  registry.register(function returnsGenerator() {
    return (function* items() {
      yield 1;
    })();
  });
  registry.register(function throwsCustom() {
    throw new CustomError('custom');
  });
  registry.register(function throwsNamed() {
    throw new NamedError('named');
  });
  registry.register(function throwsString() {
    throw 'just a string';
  });
  registry.register(function throwsObject() {
    throw { name: 'Plain', message: 'an error-like object' };
  });
  registry.register(function throwsNumber() {
    throw 42;
  });
  registry.register(function throwsUnreadable() {
    throw new Proxy(
      {},
      {
        get() {
          throw new Error('cannot read me');
        },
      },
    );
  });
  registry.register(async function rejects() {
    await nextTurn();
    throw new TypeError('async failure');
  });
  registry.register(function optional(a: number, b = 10) {
    return a + b;
  });
  registry.register(() => [1, 2, 3], { name: 'fromArray', stream: true });
  registry.register(async () => ['x', 'y'], { name: 'fromAsyncArray', stream: true });
  registry.register(() => 42, { name: 'notIterable', stream: true });
  registry.register(() => 'text', { name: 'fromString', stream: true });
  registry.register(
    async function* asyncItems() {
      yield { a: 1 };
      await nextTurn();
      yield [2, 'two'];
    },
    { stream: true },
  );
  registry.register(
    async function* failsMidway() {
      yield 'ok';
      await nextTurn();
      throw new CustomError('midway');
    },
    { stream: true },
  );
  registry.register(
    function* unencodableItem() {
      try {
        yield 1;
        yield () => 'a function';
        yield 3;
      } finally {
        closedByFinally.push('unencodableItem');
      }
    },
    { stream: true },
  );
  registry.register(function _private() {
    return 'hidden but callable';
  });
  return registry;
}

beforeAll(async () => {
  ({ server, endpoint } = await startServer({ registry: dispatchRegistry(), tracebacks: true }));
});

afterAll(async () => {
  await server.close({ graceMs: 0 });
});

/** Call `method` with `args` on a fresh client; its reply. */
async function call(method: string, args: unknown = []) {
  const client = new RawClient(endpoint);
  try {
    client.request(method, args);
    return await client.nextReply();
  } finally {
    await client.close();
  }
}

/** Call a stream method on a fresh client, reading it like the reference client. */
async function stream(method: string, args: unknown = []) {
  const client = new RawClient(endpoint);
  try {
    const { items, final } = await readStream(client, client.request(method, args));
    return { items, final: final as { name: string; args: string[] } };
  } finally {
    await client.close();
  }
}

async function callError(method: string, args: unknown = []) {
  const reply = await call(method, args);
  expect(reply.name).toBe('ERR');
  return (reply as { args: [string, string, string] }).args;
}

describe('replies', () => {
  test('OK wraps the result; undefined becomes [null]', async () => {
    expect(await call('add', [2, 3])).toMatchObject({ name: 'OK', args: [5] });
    expect(await call('nothing')).toMatchObject({ name: 'OK', args: [null] });
  });

  test('a 64-bit integer goes out exact', async () => {
    expect(await call('big')).toMatchObject({ name: 'OK', args: [2n ** 63n] });
  });

  test('a default parameter may be left out', async () => {
    expect(await call('optional', [1])).toMatchObject({ args: [11] });
    expect(await call('optional', [1, 2])).toMatchObject({ args: [3] });
  });

  test('a method starting with _ is callable (just not listed)', async () => {
    expect(await call('_private')).toMatchObject({ args: ['hidden but callable'] });
  });

  test('a str message_id (zerorpc-node) is echoed as a str response_to', async () => {
    const client = new RawClient(endpoint);
    try {
      client.request('add', [1, 1], { message_id: 'a7c6f0e2-node-style-uuid' });
      const reply = await client.next();
      expect(reply.event).toMatchObject({ name: 'OK', args: [2] });
      expect(headerOf(reply.raw).response_to).toBe('a7c6f0e2-node-style-uuid');
    } finally {
      await client.close();
    }
  });

  test('two clients may use the same message id', async () => {
    const a = new RawClient(endpoint);
    const b = new RawClient(endpoint);
    try {
      a.request('add', [1, 0], { message_id: 'same' });
      b.request('add', [2, 0], { message_id: 'same' });
      expect((await a.nextReply()).args).toEqual([1]);
      expect((await b.nextReply()).args).toEqual([2]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('errors', () => {
  test('unknown method: NameError naming it', async () => {
    const [name, message] = await callError('nope');
    expect([name, message]).toEqual(['NameError', 'nope']);
  });

  test('wrong arity: TypeError naming the method and its arguments, before the handler runs', async () => {
    expect(await callError('add', [1])).toEqual([
      'TypeError',
      "add(a, b) missing 1 required positional argument: 'b'",
      expect.any(String),
    ]);
    const [, tooMany] = await callError('add', [1, 2, 3]);
    expect(tooMany).toBe('add(a, b) takes 2 positional arguments but 3 were given');
  });

  test('arguments that are not an array: TypeError', async () => {
    const [name, message] = await callError('add', { a: 1 });
    expect(name).toBe('TypeError');
    expect(message).toMatch(/add\(\) takes its arguments as an array/);
  });

  test('an Error subclass goes by its class name, or by the name it sets', async () => {
    const [name, message, traceback] = await callError('throwsCustom');
    expect([name, message]).toEqual(['CustomError', 'custom']);
    expect(traceback).toMatch(/^CustomError: custom\n\s+at /);
    expect((await callError('throwsNamed')).slice(0, 2)).toEqual(['Renamed', 'named']);
    expect((await callError('rejects')).slice(0, 2)).toEqual(['TypeError', 'async failure']);
  });

  test('values thrown that are not Errors get a sensible name', async () => {
    expect(await callError('throwsString')).toEqual(['Error', 'just a string', '']);
    expect(await callError('throwsObject')).toEqual(['Plain', 'an error-like object', '']);
    expect(await callError('throwsNumber')).toEqual(['Error', '42', '']);
    expect(await callError('throwsUnreadable')).toEqual([
      'Error',
      'an error that could not be read',
      '',
    ]);
  });

  test('a result msgpack cannot encode is a TypeError, not a crash or a hang', async () => {
    const [name, message] = await callError('aFunction');
    expect(name).toBe('TypeError');
    expect(message).toMatch(/cannot encode the reply of aFunction\(\) as msgpack/);
    const [name2, message2] = await callError('tooBig');
    expect(name2).toBe('TypeError');
    expect(message2).toMatch(/does not fit in a 64-bit integer/);
  });

  test('a method not registered as a stream that returns a generator is an ERR saying how to fix it', async () => {
    const [name, message] = await callError('returnsGenerator');
    expect(name).toBe('TypeError');
    expect(message).toBe(
      'returnsGenerator() returned a generator: register it with { stream: true } to stream its items',
    );
  });

  test('without tracebacks, the ERR carries an empty one', async () => {
    const { server: quiet, endpoint: quietEndpoint } = await startServer({
      registry: dispatchRegistry(),
      tracebacks: false,
    });
    const client = new RawClient(quietEndpoint);
    try {
      client.request('throwsCustom', []);
      expect((await client.nextReply()).args).toEqual(['CustomError', 'custom', '']);
    } finally {
      await client.close();
      await quiet.close();
    }
  });
});

describe('streams', () => {
  test('from an array, an async function returning an array, an async generator', async () => {
    expect(await stream('fromArray')).toMatchObject({
      items: [1, 2, 3],
      final: { name: 'STREAM_DONE' },
    });
    expect((await stream('fromAsyncArray')).items).toEqual(['x', 'y']);
    expect(withPlainBytes((await stream('asyncItems')).items)).toEqual([{ a: 1 }, [2, 'two']]);
  });

  test('a stream method returning something not iterable is an ERR saying so', async () => {
    const [name, message] = await callError('notIterable');
    expect(name).toBe('TypeError');
    expect(message).toMatch(
      /notIterable\(\) is a stream method: it must return an Iterable.*not number/,
    );
    expect((await callError('fromString'))[1]).toMatch(/not string/);
  });

  test('an error mid-stream: the items so far, then ERR', async () => {
    const reply = await stream('failsMidway');
    expect(reply.items).toEqual(['ok']);
    expect(reply.final.args.slice(0, 2)).toEqual(['CustomError', 'midway']);
  });

  test('an item msgpack cannot encode ends the stream with a TypeError and closes the generator', async () => {
    closedByFinally = [];
    const reply = await stream('unencodableItem');
    expect(reply.items).toEqual([1]);
    expect(reply.final.args[0]).toBe('TypeError');
    expect(reply.final.args[1]).toMatch(/cannot encode an item of unencodableItem\(\) as msgpack/);
    expect(closedByFinally).toEqual(['unencodableItem']);
  });
});

describe('channel lifetime', () => {
  test('a channel closes with its final event; later events for it are dropped and counted', async () => {
    const client = new RawClient(endpoint);
    try {
      const before = server.stats;
      const id = client.request('add', [1, 2]);
      await client.nextReply();
      expect(server.stats.openChannels).toBe(0);
      client.onChannel(id, '_zpc_hb', [0]);
      client.onChannel(id, '_zpc_more', [10]);
      await client.until(() => server.stats.unroutable === before.unroutable + 2, 5000);
      expect(client.received).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
