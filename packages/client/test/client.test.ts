import {
  type ClientCallContext,
  type ClientMiddleware,
  Registry,
  type ServerMiddleware,
} from '@zrpc/core';
import { realClock } from '@zrpc/core/protocol';
import {
  closeServer,
  collect,
  FakeClock,
  nextTurns,
  rejection,
  until,
  within,
} from '@zrpc/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  Client,
  ClientClosedError,
  LostRemoteError,
  RemoteError,
  RemoteStream,
  TimeoutError,
} from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { handlerClock, serverLog } from './fixtures/provider.js';
import { providerPerFile, silentServer, startServer } from './helpers/server.js';

type Api = typeof Provider;
const HEARTBEAT_MS = 200;
const provider = providerPerFile({ heartbeatMs: HEARTBEAT_MS });

let client: Client<Api>;

beforeAll(async () => {
  client = new Client<Api>({
    endpoints: provider.endpoint,
    heartbeatMs: HEARTBEAT_MS,
    timeoutMs: 5000,
  });
});

afterAll(async () => {
  await client.close();
});

describe('calls', () => {
  test('values come back as the server returned them', async () => {
    expect(await client.add(1, 2)).toBe(3);
    expect(await client.greet('wörld ☃', '!')).toBe('Hello, wörld ☃!');
    expect(await client.greet('you', '?')).toBe('Hello, you?');
    expect(await client.pair()).toEqual([1, 'two']);
    const bytes = await client.blob(6);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect([...bytes]).toEqual([0, 1, 0xfe, 0xff, 0, 1]);
    expect(await client.big()).toBe(2n ** 63n);
    expect(client.openChannels).toBe(0);
  });

  test('many calls share the one socket, each answered on its own channel', async () => {
    const slow = client.slow(300);
    const fast = await Promise.all(Array.from({ length: 200 }, (_, i) => client.add(i, i)));
    expect(fast).toEqual(Array.from({ length: 200 }, (_, i) => 2 * i));
    // The slow call is still in flight: replies were routed by channel, not order.
    expect(client.openChannels).toBe(1);
    expect(await slow).toBe('slept 300');
    expect(client.openChannels).toBe(0);
  });

  test('ERR becomes a RemoteError with the remote name, message and traceback', async () => {
    const error = await rejection(client.fail('bad thing'));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe('ValueError');
    expect(error.remoteMessage).toBe('bad thing');
    expect(error.message).toBe('ValueError: bad thing');
    expect(error.traceback).toContain('bad thing');
    const unknown = await rejection(client.call('nope' as 'add', 1, 2));
    expect([unknown.remoteName, unknown.remoteMessage]).toEqual(['NameError', 'nope']);
    const arity = await rejection((client.add as (...args: number[]) => Promise<number>)(1));
    expect(arity.remoteName).toBe('TypeError');
    expect(client.openChannels).toBe(0);
  });

  test('the proxy: unknown names call the server, real members win, no `then`', async () => {
    const untyped = client as unknown as Client;
    expect(await untyped._zerorpc_ping!()).toEqual(['pong', 'provider']);
    expect(typeof client.close).toBe('function');
    expect(client.openChannels).toBe(0);
    expect((client as unknown as Record<string, unknown>).then).toBeUndefined();
    // Not a thenable: resolving a promise with the client yields the client.
    expect(await Promise.resolve(client)).toBe(client);
    expect(provider.server.stats.calls).toBeGreaterThan(0);
  });

  test('a client connected to several servers spreads its calls over them', async () => {
    const second = await startServer({ name: 'second', heartbeatMs: HEARTBEAT_MS });
    const both = new Client({ endpoints: [provider.endpoint] });
    both.connect(second.endpoint);
    try {
      expect(both.endpoints).toEqual([provider.endpoint, second.endpoint]);
      await until(async () => {
        const names = await Promise.all(Array.from({ length: 10 }, () => both._zerorpc_name!()));
        return new Set(names).size === 2;
      });
    } finally {
      await both.close();
      await second.server.close({ graceMs: 0 });
    }
  });
});

describe('streams', () => {
  test('a generator streams to an AsyncIterable, however it is reached', async () => {
    expect(await collect(client.count(3))).toEqual([0, 1, 2]);
    const reply = await client.call('count', 4);
    expect(reply).toBeInstanceOf(RemoteStream);
    expect(await collect(reply)).toEqual([0, 1, 2, 3]);
    expect(await collect(client.stream('words', 'a b c'))).toEqual(['a', 'b', 'c']);
    expect(await collect(client.withOptions({ timeoutMs: 1000 }).words('x y'))).toEqual(['x', 'y']);
    expect(client.openChannels).toBe(0);
  });

  test('a long stream keeps flowing: credit is topped up as the consumer reads', async () => {
    const items = await collect(client.count(1000));
    expect(items).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  test('stream() starts nothing until iterated, and refuses a plain reply', async () => {
    const calls = provider.server.stats.calls;
    const lazy = client.stream('count', 2);
    expect(provider.server.stats.calls).toBe(calls);
    expect(await collect(lazy)).toEqual([0, 1]);
    const untyped = client as unknown as Client;
    const error = await rejection(collect(untyped.stream('add', 1, 2)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('add answered with a single value');
    expect(client.openChannels).toBe(0);
  });

  test('an ERR mid-stream ends the iteration with a RemoteError after the items', async () => {
    const seen: number[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of client.countThenFail(2)) seen.push(item);
      })(),
    );
    expect(seen).toEqual([0, 1]);
    expect(error).toBeInstanceOf(RemoteError);
    expect([error.remoteName, error.remoteMessage]).toEqual(['KeyError', 'after 2']);
    expect(client.openChannels).toBe(0);
  });

  test('leaving a for-await early closes the channel; the server notices and stops', async () => {
    const seen: number[] = [];
    for await (const item of client.forever('early')) {
      seen.push(item);
      if (item === 2) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(client.openChannels).toBe(0);
    // Silence on the channel: the server loses it and ends the generator.
    await until(() => serverLog.includes('forever(early) finally'), 5000, 'the finally');
    await until(() => provider.server.stats.openChannels === 0);
  });
});

describe('per-call options, timeout, abort', () => {
  test('withOptions applies to its calls only, and views compose', async () => {
    const seen: Array<[number, number]> = [];
    const probe: ClientMiddleware = async (ctx, next) => {
      seen.push([ctx.timeoutMs, ctx.heartbeatMs]);
      await next();
    };
    const probed = new Client<Api>({ endpoints: provider.endpoint, middleware: [probe] });
    try {
      const view = probed.withOptions({ timeoutMs: 1234 });
      await view.add(1, 1);
      await view.withOptions({ heartbeatMs: 321 }).call('add', 1, 1);
      await probed.add(1, 1);
      expect(seen).toEqual([
        [1234, 5000],
        [1234, 321],
        [30_000, 5000],
      ]);
    } finally {
      await probed.close();
    }
  });

  test('a call past its timeout fails with TimeoutError and releases its channel; the server loses it two heartbeats later', async () => {
    // Server, client and the provider's `slow` on one fake clock.
    const clock = new FakeClock();
    handlerClock.current = clock;
    const { server, endpoint } = await startServer({ heartbeatMs: HEARTBEAT_MS, clock });
    const timed = new Client<Api>({ endpoints: endpoint, heartbeatMs: HEARTBEAT_MS, clock });
    try {
      serverLog.length = 0;
      let settled = false;
      const call = rejection(timed.withOptions({ timeoutMs: 150 }).slow(3000)).finally(
        () => (settled = true),
      );
      await until(() => server.stats.running === 1, 5000, 'the call to run');
      clock.advance(149);
      await nextTurns();
      expect(settled).toBe(false);
      clock.advance(1);
      const error = await within(5000, 'the timeout', call);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.name).toBe('TimeoutError');
      expect(error.timeoutMs).toBe(150);
      expect(error.message).toBe('timeout after 0.15s, when calling remote method slow');
      expect(timed.openChannels).toBe(0);
      // The client stopped heart-beating (a new connection has not heard
      // that its server speaks zrpc: no cancel): the server gives up on the
      // call two of its heartbeats after it last heard from it.
      clock.advance(2 * HEARTBEAT_MS - 150 - 1);
      await nextTurns();
      expect(serverLog).toEqual([]);
      clock.advance(1);
      await until(() => serverLog.includes('slow(3000) cancelled'), 5000, 'the server to give up');
      expect(server.stats.lostRemotes).toBe(1);
    } finally {
      await timed.close();
      await closeServer(server, clock);
      handlerClock.current = realClock;
    }
  });

  test('a stream timeout covers the wait for its first reply only', async () => {
    // Items 250 ms apart, timeout 150 ms: after the first item the heartbeat guards the stream.
    const paced = client.withOptions({ timeoutMs: 150 });
    expect(await collect(paced.ticks(4, 250, 0))).toEqual([0, 1, 2, 3]);
    // ...but a first item later than the timeout is a timeout.
    const error = await rejection(collect(paced.ticks(2, 250, 400)));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(client.openChannels).toBe(0);
  });

  test('an abort rejects with the signal reason and closes the channel', async () => {
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const calls = provider.server.stats.calls;
    const pending = client.withOptions({ signal: controller.signal }).slow(4000);
    // Once the server runs it (a request aborted before it left is never sent).
    await until(() => client.openChannels === 1 && provider.server.stats.calls === calls + 1);
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    expect(client.openChannels).toBe(0);
    await until(() => serverLog.includes('slow(4000) cancelled'));
  });

  test('an aborted signal fails the call before anything is sent', async () => {
    const calls = provider.server.stats.calls;
    const signal = AbortSignal.abort(new Error('too late'));
    const error = await rejection(client.withOptions({ signal }).add(1, 2));
    expect(error.message).toBe('too late');
    expect(provider.server.stats.calls).toBe(calls);
    expect(client.openChannels).toBe(0);
  });

  test('an abort mid-stream ends the iteration with the reason', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of client
          .withOptions({ signal: controller.signal })
          .forever('abort')) {
          seen.push(item);
          if (item === 5) controller.abort('stop');
        }
      })(),
    );
    expect(error).toBe('stop');
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(client.openChannels).toBe(0);
    await until(() => serverLog.includes('forever(abort) finally'));
  });

  test('timeouts, aborts and early exits leave no channel and no timer behind', async () => {
    await until(() => provider.server.stats.openChannels === 0);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    let during = 0;
    const controller = new AbortController();
    const outcomes = await Promise.allSettled([
      client.withOptions({ timeoutMs: 100 }).slow(2000),
      client.withOptions({ signal: controller.signal }).slow(2000),
      (async () => {
        for await (const item of client.forever('timers')) if (item === 3) break;
      })(),
      (async () => {
        await until(() => client.openChannels === 3);
        during = timers();
        controller.abort();
      })(),
    ]);
    // Each open call held timers (heartbeat, timeout) while in flight.
    expect(during).toBeGreaterThan(before);
    expect(outcomes.map((o) => o.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(client.openChannels).toBe(0);
    // Once the server has given up on the abandoned calls, only the timers
    // that were there before remain.
    await until(() => provider.server.stats.openChannels === 0);
    await until(() => timers() <= before, 2000, 'timers to be released');
  });
});

describe('close', () => {
  test('close() fails the calls in flight, and later calls, with ClientClosedError', async () => {
    const short = new Client<Api>({ endpoints: provider.endpoint, heartbeatMs: HEARTBEAT_MS });
    const pending = short.slow(2000);
    const stream = await short.call('forever', 'close');
    await until(() => short.openChannels === 2);
    await short.close();
    expect(await rejection(pending)).toBeInstanceOf(ClientClosedError);
    expect(await rejection(collect(stream))).toBeInstanceOf(ClientClosedError);
    expect(short.openChannels).toBe(0);
    expect(short.healthy).toBe(false);
    expect(await rejection(short.add(1, 2))).toBeInstanceOf(ClientClosedError);
    expect(() => short.connect(provider.endpoint)).toThrow(ClientClosedError);
  });

  test('a client closed while a middleware is still before next() fails that call too', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting: ClientMiddleware = async (_ctx, next) => {
      await gate;
      await next();
    };
    const gated = new Client<Api>({ endpoints: provider.endpoint, middleware: [waiting] });
    const pending = rejection(gated.add(1, 2));
    await gated.close();
    release();
    expect(await pending).toBeInstanceOf(ClientClosedError);
    expect(gated.openChannels).toBe(0);
  });
});

describe('middleware and task context', () => {
  test('a middleware that hands back a thenable of its own, not a native promise, still works', async () => {
    const thenable: ClientMiddleware = (_ctx, next) =>
      ({
        // biome-ignore lint/suspicious/noThenProperty: the point is a non-native thenable
        then(resolve: (value?: unknown) => void, reject: (error: unknown) => void) {
          // A minimal thenable: its then() answers nothing, unlike a promise's.
          void next().then(resolve, reject);
        },
      }) as unknown as Promise<void>;
    const odd = new Client<Api>({ endpoints: provider.endpoint, middleware: [thenable] });
    try {
      expect(await odd.add(2, 3)).toBe(5);
    } finally {
      await odd.close();
    }
  });

  test('a middleware that forgets to await next() fails the call with a MiddlewareError naming it', async () => {
    const forgetful: ClientMiddleware = async function forgetful(_ctx, next) {
      next();
    };
    const careless = new Client<Api>({ endpoints: provider.endpoint, middleware: [forgetful] });
    try {
      const error = await rejection(careless.slow(50));
      expect(error).toMatchObject({
        name: 'MiddlewareError',
        message: expect.stringContaining('middleware "forgetful" (#1) finished before'),
      });
    } finally {
      await careless.close();
    }
  });

  test("the reply's header reaches client middleware (keys a server middleware set), for calls and streams", async () => {
    const tagging: ServerMiddleware = async (ctx, next) => {
      ctx.replyHeader.served_by = `${ctx.method}@tagging`;
      await next();
    };
    const tagged = await startServer({ heartbeatMs: HEARTBEAT_MS, middleware: [tagging] });
    const headers: Array<Record<string, unknown> | undefined> = [];
    const reading: ClientMiddleware = async (ctx, next) => {
      await next();
      headers.push(ctx.replyHeader);
    };
    const reader = new Client<Api>({ endpoints: tagged.endpoint, middleware: [reading] });
    try {
      expect(await reader.add(1, 2)).toBe(3);
      expect(await collect(reader.stream('count', 2))).toEqual([0, 1]);
      expect(headers.map((h) => h?.served_by)).toEqual(['add@tagging', 'count@tagging']);
      expect(headers[0]?.response_to).toBeInstanceOf(Uint8Array);
    } finally {
      await reader.close();
      await tagged.server.close({ graceMs: 0 });
    }
  });

  test('socket options reach the DEALER (here its routing id, as the server sees it)', async () => {
    const peers: string[] = [];
    const watching: ServerMiddleware = async (ctx, next) => {
      peers.push(ctx.peer);
      await next();
    };
    const watched = await startServer({ heartbeatMs: HEARTBEAT_MS, middleware: [watching] });
    const named = new Client<Api>({
      endpoints: watched.endpoint,
      socket: { routingId: 'client-7' },
    });
    try {
      expect(await named.add(1, 1)).toBe(2);
      expect(peers).toEqual([Buffer.from('client-7').toString('hex')]);
    } finally {
      await named.close();
      await watched.server.close({ graceMs: 0 });
    }
  });

  test('runs around each call: before, after, result, errors, translation', async () => {
    const trail: string[] = [];
    class NotFound extends Error {}
    const outer: ClientMiddleware = async (ctx, next) => {
      trail.push(`outer before ${ctx.method}`);
      try {
        await next();
        trail.push(`outer after ${String(ctx.result)}`);
      } catch (error) {
        trail.push(`outer saw ${(error as Error).name}`);
        if (error instanceof RemoteError && error.remoteName === 'NameError') {
          throw new NotFound(error.remoteMessage);
        }
        throw error;
      }
    };
    const inner: ClientMiddleware = async (ctx, next) => {
      trail.push('inner before');
      (ctx.taskContext as Record<string, unknown>).trace_id = 'trace-1';
      await next();
      trail.push('inner after');
    };
    let abandoned: ClientCallContext | undefined;
    const watch: ClientMiddleware = async (ctx, next) => {
      abandoned = ctx;
      await next();
    };
    const mw = new Client<Api>({ endpoints: provider.endpoint, middleware: [outer, inner, watch] });
    try {
      expect(await mw.context()).toEqual({ trace_id: 'trace-1' });
      expect(trail).toEqual([
        'outer before context',
        'inner before',
        'inner after',
        'outer after [object Object]',
      ]);
      trail.length = 0;
      expect(await rejection(mw.call('missing' as 'add', 1, 2))).toBeInstanceOf(NotFound);
      expect(trail).toEqual(['outer before missing', 'inner before', 'outer saw RemoteError']);
      trail.length = 0;
      const timeout = await rejection(mw.withOptions({ timeoutMs: 100 }).slow(1000));
      expect(timeout).toBeInstanceOf(TimeoutError);
      expect(trail).toEqual(['outer before slow', 'inner before', 'outer saw TimeoutError']);
      // The call's signal aborted with the error that abandoned it.
      expect(abandoned!.signal.aborted).toBe(true);
      expect(abandoned!.signal.reason).toBe(timeout);
    } finally {
      await mw.close();
    }
  });

  test('a call made inside a server handler carries its task context and its cancellation', async () => {
    // Server B: the provider. Server A: `relay` calls B from inside its handler.
    const relayed: string[] = [];
    const toB = new Client({ endpoints: provider.endpoint, heartbeatMs: HEARTBEAT_MS });
    const relay = new Registry();
    relay.register(
      async (method: string, ...args: unknown[]) => {
        try {
          return await toB.call(method, ...args);
        } catch (error) {
          relayed.push(`${method}: ${(error as Error).name}`);
          throw error;
        }
      },
      { name: 'relay' },
    );
    const a = await startServer({ registry: relay, heartbeatMs: HEARTBEAT_MS });
    const tracing: ClientMiddleware = async (ctx, next) => {
      Object.assign(ctx.taskContext, { trace_id: 'abc', span: 7 });
      await next();
    };
    const toA = new Client({
      endpoints: a.endpoint,
      heartbeatMs: HEARTBEAT_MS,
      middleware: [tracing],
    });
    try {
      // B sees A's incoming task context without A's handler doing anything.
      expect(await toA.relay!('context')).toEqual({ trace_id: 'abc', span: 7 });
      // When A's call is abandoned (its client went silent), the nested call is cancelled.
      const error = await rejection(toA.withOptions({ timeoutMs: 100 }).relay!('slow', 3000));
      expect(error).toBeInstanceOf(TimeoutError);
      await until(() => relayed.length > 0);
      expect(relayed[0]).toMatch(/^slow: /);
      await until(() => serverLog.includes('slow(3000) cancelled'));
      await until(() => toB.openChannels === 0);
    } finally {
      await toA.close();
      await toB.close();
      await a.server.close({ graceMs: 0 });
    }
  });
});

test('a server silent for two heartbeats is lost: LostRemoteError, client marked unhealthy', async () => {
  const deaf = await silentServer();
  const clock = new FakeClock();
  // A server that never spoke: its pace is whatever the client assumes.
  const impatient = new Client<Api>({
    endpoints: deaf.endpoint,
    heartbeatMs: 100,
    assumedPeerHeartbeatMs: 100,
    clock,
  });
  try {
    let settled = false;
    const call = rejection(impatient.slow(2000)).finally(() => (settled = true));
    await until(() => deaf.requests.includes('slow'), 5000, 'the request');
    clock.advance(2 * 100 - 1);
    await nextTurns();
    expect(settled).toBe(false);
    clock.advance(1);
    const error = await within(5000, 'the lost call', call);
    expect(error).toBeInstanceOf(LostRemoteError);
    expect(error.heartbeatMs).toBe(100);
    expect(impatient.healthy).toBe(false);
    expect(impatient.openChannels).toBe(0);
  } finally {
    await impatient.close();
    deaf.close();
  }
});
