/**
 * The life of one server call against a fake host: no sockets, no server.
 * What goes out is what the call hands the host; credit and heartbeats are
 * fed to its channel by hand. Slot, abort, credit and middleware
 * interleavings that are hard to hit over a real socket are pinned here.
 */
import {
  type CallEnd,
  compose,
  LostRemoteError,
  MiddlewareError,
  Registry,
  type ServerMiddleware,
} from '@zrpc/core';
import {
  ChannelTimers,
  type EventHeader,
  MORE,
  monotonicNow,
  type ZEvent,
} from '@zrpc/core/protocol';
import { nextTurns } from '@zrpc/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import type { CallHost, RoutedCall } from '../src/call-host.js';
import { ServerClosingError } from '../src/errors.js';
import { Limiter } from '../src/limiter.js';
import { ServerCall } from '../src/server-call.js';
import { deferred } from './helpers.js';

interface Sent {
  name: string;
  args: unknown;
  header: EventHeader;
}

interface FakeHost extends CallHost {
  readonly sent: Sent[];
  readonly records: CallEnd[];
  readonly routedClosed: RoutedCall[];
  readonly limiter: Limiter;
}

const open: ServerCall[] = [];

afterEach(() => {
  // A call left open by a failed test would keep heart-beating.
  for (const call of open.splice(0)) call.close();
});

function fakeHost(
  registry: Registry,
  options: { middleware?: ServerMiddleware[]; concurrency?: number; queueLimit?: number } = {},
): FakeHost {
  let ids = 0;
  const sent: Sent[] = [];
  const records: CallEnd[] = [];
  const routedClosed: RoutedCall[] = [];
  return {
    sent,
    records,
    routedClosed,
    heartbeatMs: 5000,
    timers: ChannelTimers.real,
    tracebacks: false,
    middleware: compose(options.middleware ?? []),
    limiter: new Limiter(options.concurrency ?? 10, options.queueLimit ?? 10, 0),
    sendQueue: { size: 0, highWater: 1000, room: () => Promise.resolve() },
    resolve: (method) => {
      const spec = registry.get(method);
      return spec && { spec, builtin: false };
    },
    nextMessageId: () => `s${ids++}`,
    send: (_identity, header, name, args) => {
      sent.push({ name, args, header });
      return 1;
    },
    badInput: () => {},
    closed: (call) => routedClosed.push(call),
    ended: (record) => records.push(record),
  };
}

let requests = 0;

function start(host: CallHost, name: string, args: unknown[] = []): ServerCall {
  const request: ZEvent = { header: { message_id: `r${requests++}`, v: 3 }, name, args };
  const call = new ServerCall(host, 1, [Buffer.from('peer')], request);
  open.push(call);
  call.run();
  return call;
}

/** The client grants `n` more events on the call's channel. */
function grant(call: ServerCall, n: number): void {
  const event: ZEvent = {
    header: { message_id: `c${requests++}`, v: 3, response_to: call.channel.id },
    name: MORE,
    args: [n],
  };
  call.channel.receive(event, monotonicNow());
}

/** Application events sent (heartbeats left out). */
const names = (host: FakeHost) => host.sent.map((s) => s.name).filter((n) => n !== '_zpc_hb');

/** Two heartbeat intervals pass without a word from the client, ticked as a timer would. */
function silence(call: ServerCall): void {
  const now = monotonicNow();
  call.channel.tick(now + 5000);
  call.channel.tick(now + 10_001);
}

/** Wait until `check` holds (a few event-loop turns at most in these tests: no sockets, no time). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await nextTurns();
  expect(check()).toBe(true);
}

describe('a plain call', () => {
  test('a synchronous handler without middleware is answered before run() returns, routed nowhere', () => {
    const registry = new Registry();
    registry.register(function add(a: number, b: number) {
      return a + b;
    });
    const host = fakeHost(registry);
    const call = start(host, 'add', [2, 3]);
    expect(call.finished).toBe(true);
    expect(host.sent).toEqual([
      {
        name: 'OK',
        args: [5],
        header: { message_id: 's0', v: 3, response_to: 'r0', zrpc_hb: host.heartbeatMs },
      },
    ]);
    expect(call.slotState).toBe('returned');
    expect(host.limiter.running).toBe(0);
    expect(host.routedClosed).toEqual([]);
    expect(host.records.map((r) => [r.method, r.status])).toEqual([['add', 'ok']]);
  });

  test('an async handler holds its slot until it settles, then answers and is forgotten', async () => {
    const registry = new Registry();
    const gate = deferred<number>();
    registry.register(function later() {
      return gate.promise;
    });
    const host = fakeHost(registry);
    const call = start(host, 'later');
    expect(call.finished).toBe(false);
    expect(call.slotState).toBe('held');
    expect(host.limiter.running).toBe(1);
    gate.resolve(42);
    await until(() => call.finished);
    expect(host.sent.map((s) => [s.name, s.args])).toEqual([['OK', [42]]]);
    expect(call.slotState).toBe('returned');
    expect(host.limiter.running).toBe(0);
    expect(host.routedClosed).toEqual([call]);
  });

  test('an unknown method and a wrong arity are ERRs that take no slot', () => {
    const registry = new Registry();
    registry.register(function one(a: number) {
      return a;
    });
    const host = fakeHost(registry);
    const unknown = start(host, 'nope');
    const arity = start(host, 'one', [1, 2]);
    expect(host.sent.map((s) => (s.args as string[])[0])).toEqual(['NameError', 'TypeError']);
    expect(unknown.slotState).toBe('none');
    expect(arity.slotState).toBe('none');
    expect(host.records.map((r) => [r.status, r.ran])).toEqual([
      ['unknown_method', false],
      ['bad_arguments', false],
    ]);
  });
});

describe('slots and aborts', () => {
  test('a call waiting for a slot that is aborted leaves the queue, answers ERR and disturbs no one', async () => {
    const registry = new Registry();
    const gate = deferred();
    registry.register(function hold() {
      return gate.promise;
    });
    const host = fakeHost(registry, { concurrency: 1 });
    const running = start(host, 'hold');
    const waiting = start(host, 'hold');
    expect(running.slotState).toBe('held');
    expect(waiting.slotState).toBe('queued');
    expect(host.limiter.queued).toBe(1);

    waiting.abort(new ServerClosingError('closing'));
    await until(() => waiting.finished);
    expect(waiting.slotState).toBe('none');
    expect(host.limiter.queued).toBe(0);
    expect(host.sent.map((s) => (s.args as string[])[0])).toEqual(['ServerClosingError']);
    expect(host.records.map((r) => [r.status, r.ran])).toEqual([['refused_closing', false]]);

    gate.resolve();
    await until(() => running.finished);
    expect(host.sent.at(-1)!.name).toBe('OK');
    expect(host.limiter.running).toBe(0);
  });

  test('a queued call gets the slot a finished one gives back, in order', async () => {
    const registry = new Registry();
    const gates = [deferred(), deferred()];
    let n = 0;
    registry.register(function hold() {
      return gates[n++]!.promise;
    });
    const host = fakeHost(registry, { concurrency: 1 });
    const first = start(host, 'hold');
    const second = start(host, 'hold');
    expect(second.slotState).toBe('queued');
    gates[0]!.resolve();
    await until(() => second.slotState === 'held');
    expect(first.slotState).toBe('returned');
    expect(host.limiter.running).toBe(1);
    gates[1]!.resolve();
    await until(() => second.finished);
    expect(host.limiter.running).toBe(0);
  });

  test('an aborted call answers at once, but its slot waits (draining) for the handler it cannot stop', async () => {
    const registry = new Registry();
    const gate = deferred<string>();
    registry.register(function stubborn() {
      return gate.promise; // ignores its signal
    });
    const host = fakeHost(registry, { concurrency: 1, queueLimit: 1 });
    const call = start(host, 'stubborn');
    call.abort(new ServerClosingError('closing'));
    await until(() => call.finished);
    expect(host.sent.map((s) => (s.args as string[])[0])).toEqual(['ServerClosingError']);
    expect(call.slotState).toBe('draining');
    expect(host.limiter.running).toBe(1);

    // The slot is still taken: the next call waits for it.
    const next = start(host, 'stubborn');
    expect(next.slotState).toBe('queued');
    gate.resolve('late');
    await until(() => call.slotState === 'returned');
    await until(() => next.finished);
    expect(host.sent.at(-1)!.args).toEqual(['late']);
  });

  test('a lost client: the call sends nothing more, its signal fires with LostRemoteError', async () => {
    const registry = new Registry();
    let signal: AbortSignal | undefined;
    registry.register(function watch() {
      return new Promise(() => {}); // never settles by itself
    });
    const host = fakeHost(registry, {
      middleware: [
        async (ctx, next) => {
          signal = ctx.signal;
          await next();
        },
      ],
    });
    const call = start(host, 'watch');
    await until(() => signal !== undefined);
    silence(call);
    expect(call.finished).toBe(true);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(LostRemoteError);
    expect(names(host)).toEqual([]);
    expect(host.records.map((r) => r.status)).toEqual(['lost']);
  });
});

describe('streams and credit', () => {
  test('items go out only as credit allows, and the generator is pulled no further', async () => {
    const registry = new Registry();
    let pulled = 0;
    registry.register(
      function* count(n: number) {
        for (let i = 0; i < n; i++) {
          pulled++;
          yield i;
        }
      },
      { stream: true },
    );
    const host = fakeHost(registry);
    const call = start(host, 'count', [5]);
    await until(() => host.sent.length === 1);
    await nextTurns(5);
    expect(host.sent.map((s) => s.args)).toEqual([0]);
    expect(pulled).toBe(1);

    grant(call, 2);
    await until(() => host.sent.length === 3);
    await nextTurns(5);
    expect(pulled).toBe(3);

    grant(call, 10);
    await until(() => call.finished);
    expect(names(host)).toEqual(['STREAM', 'STREAM', 'STREAM', 'STREAM', 'STREAM', 'STREAM_DONE']);
    expect(host.sent.map((s) => s.args)).toEqual([0, 1, 2, 3, 4, null]);
    expect(call.slotState).toBe('returned');
  });

  test('STREAM_DONE waits for credit too', async () => {
    const registry = new Registry();
    registry.register(
      function* one() {
        yield 'only';
      },
      { stream: true },
    );
    const host = fakeHost(registry);
    const call = start(host, 'one');
    await until(() => host.sent.length === 1);
    await nextTurns(5);
    expect(call.finished).toBe(false);
    grant(call, 1);
    await until(() => call.finished);
    expect(names(host)).toEqual(['STREAM', 'STREAM_DONE']);
  });

  test('a client lost while the stream waits for credit: the generator is closed, nothing more is sent', async () => {
    const registry = new Registry();
    let closedAt: number | undefined;
    registry.register(
      function* forever() {
        let i = 0;
        try {
          for (;;) yield i++;
        } finally {
          closedAt = i;
        }
      },
      { stream: true },
    );
    const host = fakeHost(registry);
    const call = start(host, 'forever');
    await until(() => host.sent.length === 1);
    silence(call);
    await until(() => closedAt !== undefined);
    expect(closedAt).toBe(1);
    expect(names(host)).toEqual(['STREAM']);
    await until(() => call.slotState === 'returned');
    expect(host.records.map((r) => r.status)).toEqual(['lost']);
  });
});

describe('middleware interleavings', () => {
  test('the after part of a middleware runs once the last item is out, before STREAM_DONE; ctx.result is the stream', async () => {
    const registry = new Registry();
    const generator = function* pair() {
      yield 'a';
      yield 'b';
    };
    registry.register(generator, { stream: true });
    const seen: string[] = [];
    let result: unknown;
    const host = fakeHost(registry, {
      middleware: [
        async (ctx, next) => {
          await next();
          seen.push(`after, sent ${host.sent.map((s) => s.name).join(' ')}`);
          result = ctx.result;
        },
      ],
    });
    const call = start(host, 'pair');
    grant(call, 10);
    await until(() => call.finished);
    expect(seen).toEqual(['after, sent STREAM STREAM']);
    expect(names(host)).toEqual(['STREAM', 'STREAM', 'STREAM_DONE']);
    expect(typeof (result as Iterator<unknown>).next).toBe('function');
  });

  test('a middleware that forgets to await next() fails the call with MiddlewareError, not OK [null]', async () => {
    const registry = new Registry();
    const gate = deferred<number>();
    registry.register(function slow() {
      return gate.promise;
    });
    const host = fakeHost(registry, {
      middleware: [
        async function forgetful(_ctx, next) {
          next();
        },
      ],
    });
    const call = start(host, 'slow');
    await until(() => call.finished);
    const [name, message] = host.sent[0]!.args as string[];
    expect(host.sent[0]!.name).toBe('ERR');
    expect(name).toBe('MiddlewareError');
    expect(message).toMatch(/middleware "forgetful".*await next\(\)/);
    expect(host.records[0]!.error).toBeInstanceOf(MiddlewareError);
    // The handler still runs: its slot is given back only when it settles.
    expect(call.slotState).toBe('draining');
    gate.resolve(1);
    await until(() => call.slotState === 'returned');
    expect(host.limiter.running).toBe(0);
  });

  test('a middleware error after next() replaces the result; the handler ran once', async () => {
    const registry = new Registry();
    let ran = 0;
    registry.register(function fine() {
      ran++;
      return 'fine';
    });
    const host = fakeHost(registry, {
      middleware: [
        async (_ctx, next) => {
          await next();
          throw new RangeError('rejected by policy');
        },
      ],
    });
    const call = start(host, 'fine');
    await until(() => call.finished);
    expect(ran).toBe(1);
    expect(host.sent.map((s) => (s.args as string[])[0])).toEqual(['RangeError']);
    expect(call.slotState).toBe('returned');
  });
});
