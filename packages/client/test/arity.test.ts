/**
 * The arity rule at run time, with the functions of arity.test-d.ts served
 * by a real @zrpc/server and called over loopback by a typed client. The
 * calls are the type test's: those that compile must all be accepted; those
 * the types refuse (each marked `@ts-expect-error`, which the typecheck
 * enforces) run here anyway, to show what the server makes of them.
 */
import { RemoteError } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from '../src/index.js';
import type * as Arity from './fixtures/arity.js';
import { registry } from './fixtures/arity.js';

let server: Server;
let client: Client<typeof Arity>;

beforeAll(async () => {
  const silent = { info() {}, warn() {}, error() {} };
  server = new Server({ registry, name: 'arity', logger: silent });
  await server.bind('tcp://127.0.0.1:*');
  client = new Client<typeof Arity>({ endpoints: server.endpoints[0]!, timeoutMs: 5000 });
});

afterAll(async () => {
  await client.close();
  await server.close({ graceMs: 0 });
});

/** What the server answered: the value, or the remote error as `Name: message`. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    return `${error.remoteName}: ${error.remoteMessage}`;
  }
}

describe('every call the typed client accepts, the server accepts', () => {
  test.each([
    ['pair(1, 2)', () => client.pair(1, 2), [1, 2]],
    ["greet('Ada')", () => client.greet('Ada'), 'Hello, Ada'],
    ["hello('Ada')", () => client.hello('Ada'), 'Hello, Ada'],
    ['sum(1)', () => client.sum(1), 1],
    ['sum(1, 2, 3)', () => client.sum(1, 2, 3), 6],
    ["tagged('t')", () => client.tagged('t'), 't:'],
    ["tagged('t', 'a', 'b')", () => client.tagged('t', 'a', 'b'), 't:a,b'],
    ["call('greet', 'Bob')", () => client.call('greet', 'Bob'), 'Hello, Bob'],
  ] as const)('%s', async (_, call, expected) => {
    expect(await outcome(call)).toEqual(expected);
  });
});

describe('calls the types refuse', () => {
  test.each([
    [
      'pair(1)',
      // @ts-expect-error a missing argument
      () => client.pair(1),
      "TypeError: pair(a, b) missing 1 required positional argument: 'b'",
    ],
    [
      'pair(1, 2, 3)',
      // @ts-expect-error one argument too many
      () => client.pair(1, 2, 3),
      'TypeError: pair(a, b) takes 2 positional arguments but 3 were given',
    ],
    [
      'greet() — `name?` is erased: the server requires it too',
      // @ts-expect-error `name?` is required on the wire
      () => client.greet(),
      "TypeError: greet(name) missing 1 required positional argument: 'name'",
    ],
    [
      'sum()',
      // @ts-expect-error `first` is required
      () => client.sum(),
      "TypeError: sum(first, ...more) missing 1 required positional argument: 'first'",
    ],
  ] as const)('%s: the server refuses it as well', async (_, call, expected) => {
    expect(await outcome(call)).toBe(expected);
  });

  // The one-way gap, on purpose: a default has the type of `?`, so the
  // types ask for it; the server, seeing the default, would do without.
  test.each([
    [
      'hello()',
      // @ts-expect-error `name = 'world'` has the type of `name?`
      () => client.hello(),
      'Hello, world',
    ],
    [
      'tagged()',
      // @ts-expect-error `tag = 'none'` has the type of `tag?`
      () => client.tagged(),
      'none:',
    ],
  ] as const)(
    '%s: a parameter with a default, which the server fills in',
    async (_, call, expected) => {
      expect(await outcome(call)).toBe(expected);
    },
  );
});
