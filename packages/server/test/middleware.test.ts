import { AsyncLocalStorage } from 'node:async_hooks';
import {
  callSignal,
  currentCall,
  Registry,
  type ServerCallContext,
  type ServerMiddleware,
} from '@zrpc/core';
import { nextTurns } from '@zrpc/testkit';
import { expect, test } from 'vitest';
import { headerOf, readStream, serverPerTest } from './helpers.js';

const session = serverPerTest();

async function serve(registry: Registry, middleware: ServerMiddleware[], tracebacks = true) {
  const { client } = await session.start({ registry, middleware, tracebacks });
  return client;
}

function logging(log: string[], name: string): ServerMiddleware {
  return async (ctx, next) => {
    log.push(`${name} before ${ctx.method}`);
    try {
      await next();
      log.push(`${name} after ${ctx.method}`);
    } catch (error) {
      log.push(`${name} saw ${(error as Error).name}`);
      throw error;
    }
  };
}

test('middleware runs in order around the handler, before and after', async () => {
  const log: string[] = [];
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    log.push('handler');
    return a + b;
  });
  const client = await serve(registry, [logging(log, 'outer'), logging(log, 'inner')]);

  client.request('add', [1, 2]);
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [3] });
  expect(log).toEqual([
    'outer before add',
    'inner before add',
    'handler',
    'inner after add',
    'outer after add',
  ]);
});

test('for a stream, the after part runs once every item is sent, and a scope around next() wraps the generator', async () => {
  const log: string[] = [];
  const scope = new AsyncLocalStorage<string>();
  const registry = new Registry();
  registry.register(
    async function* letters() {
      for (const letter of ['a', 'b', 'c']) {
        await nextTurns();
        log.push(`yield ${letter} in scope ${scope.getStore()}`);
        yield letter;
      }
    },
    { stream: true },
  );
  const scoped: ServerMiddleware = (_ctx, next) => scope.run('S', next);
  const client = await serve(registry, [logging(log, 'mw'), scoped]);

  const id = client.request('letters', []);
  const stream = await readStream(client, id);
  expect(stream.items).toEqual(['a', 'b', 'c']);
  expect(stream.final.name).toBe('STREAM_DONE');
  expect(log).toEqual([
    'mw before letters',
    'yield a in scope S',
    'yield b in scope S',
    'yield c in scope S',
    'mw after letters',
  ]);
});

test('middleware sees the error a call ended with and changes how it is reported', async () => {
  const registry = new Registry();
  registry.register(function fail() {
    throw new Error('database exploded');
  });
  class PublicError extends Error {}
  const hideDetails: ServerMiddleware = async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.tracebacks = false;
      throw new PublicError(`call failed: ${(error as Error).message.split(' ')[0]}`);
    }
  };
  const client = await serve(registry, [hideDetails]);

  client.request('fail', []);
  expect(await client.nextReply()).toMatchObject({
    name: 'ERR',
    args: ['PublicError', 'call failed: database', ''],
  });
});

test('an error thrown by middleware is reported like a handler error, and the handler does not run', async () => {
  let ran = false;
  const registry = new Registry();
  registry.register(function guarded() {
    ran = true;
  });
  class PermissionDenied extends Error {}
  const deny: ServerMiddleware = async () => {
    throw new PermissionDenied('no entry');
  };
  const client = await serve(registry, [deny], false);

  client.request('guarded', []);
  expect(await client.nextReply()).toMatchObject({
    name: 'ERR',
    args: ['PermissionDenied', 'no entry', ''],
  });
  expect(ran).toBe(false);
});

test('an error after a stream finished is an ERR after its items', async () => {
  const registry = new Registry();
  registry.register(
    function* two() {
      yield 1;
      yield 2;
    },
    { stream: true },
  );
  const failAfter: ServerMiddleware = async (_ctx, next) => {
    await next();
    throw new RangeError('post-processing failed');
  };
  const client = await serve(registry, [failAfter]);

  const stream = await readStream(client, client.request('two', []));
  expect(stream.items).toEqual([1, 2]);
  expect(stream.final.name).toBe('ERR');
  expect((stream.final.args as string[]).slice(0, 2)).toEqual([
    'RangeError',
    'post-processing failed',
  ]);
});

test('ctx: task context in, reply header out, result after next(), and the same ctx through currentCall()', async () => {
  const registry = new Registry();
  let fromHandler: { call: ServerCallContext | undefined; signal: AbortSignal | undefined } = {
    call: undefined,
    signal: undefined,
  };
  registry.register(function whoami() {
    fromHandler = { call: currentCall(), signal: callSignal() };
    return 'me';
  });
  let fromMiddleware: ServerCallContext | undefined;
  let resultSeen: unknown;
  const tracing: ServerMiddleware = async (ctx, next) => {
    fromMiddleware = ctx;
    ctx.replyHeader.trace_id = ctx.taskContext.trace_id;
    ctx.replyHeader.response_to = 'must not override the protocol';
    await next();
    resultSeen = ctx.result;
    ctx.result = `${ctx.result} (seen by middleware)`;
  };
  const client = await serve(registry, [tracing]);

  const id = client.request('whoami', [], { trace_id: 'abc-123' } as never);
  const reply = await client.next();
  expect(reply.event).toMatchObject({ name: 'OK', args: ['me (seen by middleware)'] });
  const header = headerOf(reply.raw);
  expect(header.trace_id).toBe('abc-123');
  expect(Buffer.from(header.response_to as Uint8Array)).toEqual(Buffer.from(id as Uint8Array));

  expect(resultSeen).toBe('me');
  expect(fromMiddleware).toMatchObject({
    side: 'server',
    method: 'whoami',
    args: [],
    taskContext: { trace_id: 'abc-123' },
    stream: false,
  });
  expect(fromMiddleware!.peer).toMatch(/^[0-9a-f]+$/);
  expect(fromHandler.call).toBe(fromMiddleware);
  expect(fromHandler.signal).toBe(fromMiddleware!.signal);
  expect(fromHandler.signal!.aborted).toBe(false);
});

test('a middleware can answer without calling next(), by setting ctx.result', async () => {
  let ran = false;
  const registry = new Registry();
  registry.register(function expensive() {
    ran = true;
    return 'computed';
  });
  const cache: ServerMiddleware = async (ctx) => {
    ctx.result = 'cached';
  };
  const client = await serve(registry, [cache]);

  client.request('expensive', []);
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: ['cached'] });
  expect(ran).toBe(false);
});

test('built-ins do not go through middleware', async () => {
  const log: string[] = [];
  const broken: ServerMiddleware = async (ctx) => {
    log.push(ctx.method);
    throw new Error('database down');
  };
  const client = await serve(new Registry(), [broken]);

  client.request('_zerorpc_ping', []);
  expect((await client.nextReply()).name).toBe('OK');
  client.request('_zerorpc_inspect', []);
  expect((await client.nextReply()).name).toBe('OK');
  expect(log).toEqual([]);
});

test('a middleware that hands back a thenable of its own, not a native promise, still gets the call answered', async () => {
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  const thenable: ServerMiddleware = (_ctx, next) =>
    ({
      // biome-ignore lint/suspicious/noThenProperty: the point is a non-native thenable
      then(resolve: (value?: unknown) => void, reject: (error: unknown) => void) {
        // A minimal thenable: its then() answers nothing, unlike a promise's.
        void next().then(resolve, reject);
      },
    }) as unknown as Promise<void>;
  const c = await serve(registry, [thenable]);
  c.request('add', [2, 3]);
  const reply = await c.nextReply();
  expect([reply.name, reply.args]).toEqual(['OK', [5]]);
});

test('a middleware that forgets to await next() around an async handler fails the call with a MiddlewareError naming it', async () => {
  const registry = new Registry();
  registry.register(async function later(value: number) {
    await nextTurns(2);
    return value;
  });
  const forgetful: ServerMiddleware = async function forgetful(_ctx, next) {
    next();
  };
  const c = await serve(registry, [forgetful]);
  c.request('later', [1]);
  const reply = await c.nextReply();
  expect(reply.name).toBe('ERR');
  const [name, message] = reply.args as string[];
  expect(name).toBe('MiddlewareError');
  expect(message).toContain('middleware "forgetful" (#1) finished before the rest of the chain');
  expect(message).toContain('await next()');
});
