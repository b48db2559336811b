import { Registry } from '@zrpc/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Server } from '../src/index.js';
import { defaultServerName } from '../src/options.js';
import { RawClient, startServer } from './helpers.js';

let server: Server;
let client: RawClient;

beforeAll(async () => {
  const registry = new Registry();
  registry.register(
    function scale(value: number, factor = 2, unit = 'm', ...rest: unknown[]) {
      return [value * factor, unit, rest];
    },
    { doc: 'Scale a value.' },
  );
  registry.register(function zeta() {});
  registry.register(function alpha(x: unknown) {
    return x;
  });
  registry.register(
    function* ticks(n: number) {
      yield n;
    },
    { stream: true, doc: 'Tick n.' },
  );
  registry.register(function _hidden() {});
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry, name: 'Builtins' }));
  client = new RawClient(endpoint);
});

afterAll(async () => {
  await client.close();
  await server.close();
});

async function ask(method: string, args: unknown[] = []) {
  client.request(method, args);
  return client.nextReply();
}

test('_zerorpc_ping, _zerorpc_name', async () => {
  expect(await ask('_zerorpc_ping')).toMatchObject({ name: 'OK', args: [['pong', 'Builtins']] });
  expect(await ask('_zerorpc_name')).toMatchObject({ name: 'OK', args: ['Builtins'] });
});

test('_zerorpc_list: public user methods, sorted; no built-ins, nothing starting with _', async () => {
  expect(await ask('_zerorpc_list')).toMatchObject({
    name: 'OK',
    args: [['alpha', 'scale', 'ticks', 'zeta']],
  });
});

test('_zerorpc_help: the doc, or null; an unknown method is a NameError', async () => {
  expect((await ask('_zerorpc_help', ['scale'])).args).toEqual(['Scale a value.']);
  expect((await ask('_zerorpc_help', ['zeta'])).args).toEqual([null]);
  expect((await ask('_zerorpc_help', ['_zerorpc_ping'])).args).toEqual([
    'Answer ["pong", <server name>].',
  ]);
  const unknown = await ask('_zerorpc_help', ['nope']);
  expect(unknown.name).toBe('ERR');
  expect((unknown.args as string[]).slice(0, 2)).toEqual(['NameError', 'nope']);
});

test("_zerorpc_args: shaped like Python's getfullargspec(), without self", async () => {
  expect((await ask('_zerorpc_args', ['scale'])).args).toEqual([
    [['value', 'factor', 'unit'], 'rest', null, [2, 'm'], [], null, {}],
  ]);
  expect((await ask('_zerorpc_args', ['zeta'])).args).toEqual([
    [[], null, null, null, [], null, {}],
  ]);
  const unknown = await ask('_zerorpc_args', ['nope']);
  expect((unknown.args as string[]).slice(0, 2)).toEqual(['NameError', 'nope']);
});

test('_zerorpc_inspect: name and every public method with args (defaults included) and doc', async () => {
  expect((await ask('_zerorpc_inspect')).args).toEqual([
    {
      name: 'Builtins',
      methods: {
        alpha: { args: [{ name: 'x' }], doc: null },
        scale: {
          args: [{ name: 'value' }, { name: 'factor', default: 2 }, { name: 'unit', default: 'm' }],
          doc: 'Scale a value.',
        },
        ticks: { args: [{ name: 'n' }], doc: 'Tick n.' },
        zeta: { args: [], doc: null },
      },
    },
  ]);
  const methods = Object.keys(
    ((await ask('_zerorpc_inspect')).args as [{ methods: object }])[0].methods,
  );
  expect(methods).toEqual(['alpha', 'scale', 'ticks', 'zeta']);
});

test('built-ins check their arity like any method', async () => {
  const missing = await ask('_zerorpc_help', []);
  expect((missing.args as string[]).slice(0, 2)).toEqual([
    'TypeError',
    "_zerorpc_help(method) missing 1 required positional argument: 'method'",
  ]);
  const extra = await ask('_zerorpc_ping', [1]);
  expect((extra.args as string[])[0]).toBe('TypeError');
});

test('a user method cannot shadow a built-in', async () => {
  const registry = new Registry();
  registry.register(() => 'mine', { name: '_zerorpc_name' });
  const { server: other, endpoint } = await startServer({ registry, name: 'Real' });
  const c = new RawClient(endpoint);
  try {
    c.request('_zerorpc_name', []);
    expect((await c.nextReply()).args).toEqual(['Real']);
  } finally {
    await c.close();
    await other.close();
  }
});

test('the default name says what and where the process is, never "Object"', async () => {
  const name = defaultServerName();
  expect(name).toMatch(/^.+@.+$/);
  expect(name).not.toMatch(/Object/);
  const unnamed = new Server({ registry: new Registry() });
  expect(unnamed.name).toBe(name);
  await unnamed.close();
});
