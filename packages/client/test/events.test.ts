/**
 * Pusher and Publisher: what they send (checked byte for byte against what
 * zerorpc-python's Pusher and Publisher sent), end to end into a zrpc
 * Puller and Subscriber, middleware and task context, the high-water mark
 * and its timeout, and close().
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type ClientMiddleware, currentCall, Registry, statusOf } from '@zrpc/core';
import { decodeEvent } from '@zrpc/core/protocol';
import { Puller, Server, Subscriber } from '@zrpc/server';
import { eventOf, eventScenario, until } from '@zrpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { Pull, Subscriber as SubSocket } from 'zeromq';
import { Client, ClientClosedError, Publisher, Pusher, SendTimeoutError } from '../src/index.js';
import type * as Handlers from './fixtures/event-handlers.js';
import { ran, registry } from './fixtures/event-handlers.js';

const quiet = { info() {}, warn() {}, error() {} };
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  ran.length = 0;
});

function track<T extends { close(options?: { graceMs?: number }): unknown }>(thing: T): T {
  closers.push(() => thing.close({ graceMs: 0 }));
  return thing;
}

async function boundPuller(options: ConstructorParameters<typeof Puller>[0] = {}) {
  const puller = track(new Puller({ registry, logger: quiet, ...options }));
  await puller.bind('tcp://127.0.0.1:*');
  return puller;
}

/** A raw PULL socket that keeps every message it receives. */
async function rawPull() {
  const pull = new Pull();
  await pull.bind('tcp://127.0.0.1:*');
  closers.push(() => pull.close());
  return { pull, endpoint: pull.lastEndpoint! };
}

/** The recorded frame with its message id (the only part that differs run to run) taken from `ours`. */
function withIdOf(recorded: Buffer, ours: Buffer): Buffer {
  const { message_id: recordedId } = decodeEvent(recorded).header;
  const { message_id: ourId } = decodeEvent(ours).header;
  const at = recorded.indexOf(Buffer.from(recordedId as Uint8Array));
  return Buffer.concat([
    recorded.subarray(0, at),
    Buffer.from(ourId as Uint8Array),
    recorded.subarray(at + 32),
  ]);
}

describe('what goes on the wire', () => {
  it("a push is the frame zerorpc-python's Pusher sends, byte for byte but for the message id", async () => {
    const { pull, endpoint } = await rawPull();
    const pusher = track(new Pusher({ endpoints: endpoint }));
    await pusher.push('ticket_created', 42, 'printer on fire');
    await pusher.push('ping');
    await pusher.push('echo', { a: [1, 2.5, null] }, new Uint8Array([0, 0xff]), 2n ** 63n);

    const recorded = eventScenario('pusher_to_pull').events;
    for (const message of recorded) {
      const frames = await pull.receive();
      expect(frames).toHaveLength(1);
      const ours = frames[0]!;
      const { header } = decodeEvent(ours);
      // zerorpc-python's id shape: 32 lowercase hex digits, as msgpack bin.
      expect(header.message_id).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(header.message_id as Uint8Array).toString('latin1')).toMatch(
        /^[0-9a-f]{32}$/,
      );
      expect(Object.keys(header)).toEqual(['message_id', 'v']);
      expect(ours.equals(withIdOf(message.frames[0]!, ours))).toBe(true);
      expect(decodeEvent(ours).name).toBe(eventOf(message.event).name);
    }
  });

  it("a publish is the frame zerorpc-python's Publisher sends; with topics, the event's name comes first", async () => {
    for (const topics of [false, true]) {
      const publisher = track(new Publisher({ topics }));
      await publisher.bind('tcp://127.0.0.1:*');
      const sub = new SubSocket();
      closers.push(() => sub.close());
      sub.connect(publisher.endpoints[0]!);
      sub.subscribe();
      const received: Buffer[][] = [];
      void (async () => {
        for await (const frames of sub) received.push(frames);
      })().catch(() => {});
      // A subscriber hears what is published once its subscription arrived: probe until then.
      await until(
        async () => {
          await publisher.publish('probe');
          return received.length > 0;
        },
        10_000,
        'the subscription',
      );
      await publisher.publish('price_changed', 'ACME', 12.5);
      await publisher.publish('heartbeat_of_service');
      const events = () =>
        received.filter((frames) => decodeEvent(frames.at(-1)!).name !== 'probe');
      await until(() => events().length === 2, 5000, 'both events');

      const recorded = eventScenario('publisher_to_sub').events;
      for (const [i, frames] of events().entries()) {
        const payload = frames.at(-1)!;
        expect(payload.equals(withIdOf(recorded[i]!.frames[0]!, payload))).toBe(true);
        expect(frames.map(String).slice(0, -1)).toEqual(topics ? [decodeEvent(payload).name] : []);
      }
    }
  });
});

describe('into a zrpc Puller and Subscriber', () => {
  it('runs pushed events on the pullers in turn, typed, by name or as methods', async () => {
    const first = await boundPuller();
    const second = await boundPuller();
    const pusher = track(
      new Pusher<typeof Handlers>({ endpoints: [...first.endpoints, ...second.endpoints] }),
    );
    await until(
      async () => {
        await pusher.resize_image(0, 'probe');
        return first.stats.ok > 0 && second.stats.ok > 0;
      },
      10_000,
      'both pullers connected',
    );
    for (let i = 1; i <= 10; i++) {
      if (i % 2) await pusher.ticket_created(i, `#${i}`);
      else await pusher.push('ticket_created', i, `#${i}`);
    }
    const created = () => ran.filter((r) => r.name === 'ticket_created');
    await until(() => created().length === 10, 5000, 'ten events');
    // Two pullers run at their own pace: the order holds per puller only.
    const ids = created().map((r) => r.args[0] as number);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('a Pusher may bind and the Puller connect', async () => {
    const pusher = track(new Pusher<typeof Handlers>());
    await pusher.bind('tcp://127.0.0.1:*');
    const puller = track(new Puller({ registry, logger: quiet }));
    await puller.connect(pusher.endpoints[0]!);
    await pusher.ticket_created(7, 'reversed');
    await until(() => ran.length === 1, 5000, 'the event');
    expect(ran[0]).toMatchObject({ name: 'ticket_created', args: [7, 'reversed'] });
  });

  it('publishes to a Subscriber with topics: it receives only the events it names', async () => {
    const publisher = track(new Publisher<typeof Handlers>({ topics: true }));
    await publisher.bind('tcp://127.0.0.1:*');
    const subscriber = track(
      new Subscriber({ registry, logger: quiet, topics: ['ticket_created'] }),
    );
    await subscriber.connect(publisher.endpoints[0]!);
    await until(
      async () => {
        await publisher.ticket_created(0, 'probe');
        return ran.length > 0;
      },
      10_000,
      'the subscription',
    );
    await publisher.resize_image(1, 'big'); // filtered at the publisher
    await publisher.ticket_created(2, 'heard');
    await until(() => ran.some((r) => r.args[0] === 2), 5000, 'the subscribed event');
    expect(new Set(ran.map((r) => r.name))).toEqual(new Set(['ticket_created']));
    expect(subscriber.stats.received).toBe(subscriber.stats.ok);
  });

  it("carries a server call's task context onward, and client middleware sees a one-way context", async () => {
    const puller = await boundPuller();
    const seen: string[] = [];
    const tag: ClientMiddleware = async (ctx, next) => {
      seen.push(`${ctx.method} oneWay=${ctx.oneWay} trace=${String(ctx.taskContext.trace_id)}`);
      ctx.taskContext.span = 'from-middleware';
      await next();
      seen.push(`after ${ctx.method} result=${String(ctx.result)}`);
    };
    const pusher = track(
      new Pusher<typeof Handlers>({ endpoints: puller.endpoints, middleware: [tag] }),
    );
    const api = new Registry();
    api.register(async function create(id: number) {
      expect(currentCall()?.taskContext.trace_id).toBe('t-42');
      await pusher.ticket_created(id, 'from a call');
    });
    const server = track(new Server({ registry: api, logger: quiet }));
    await server.bind('tcp://127.0.0.1:*');
    const client = track(
      new Client({
        endpoints: server.endpoints,
        middleware: [
          async (ctx, next) => {
            ctx.taskContext.trace_id = 't-42';
            await next();
          },
        ],
      }),
    );
    await client.call('create', 5);
    await until(() => ran.length === 1, 5000, 'the event');
    expect(ran[0]).toMatchObject({
      name: 'ticket_created',
      args: [5, 'from a call'],
      taskContext: { trace_id: 't-42', span: 'from-middleware' },
    });
    expect(seen).toEqual([
      'ticket_created oneWay=true trace=t-42',
      'after ticket_created result=undefined',
    ]);
  });
});

describe('back-pressure, failures and close', () => {
  it('with no puller, a push waits sendTimeoutMs, then fails with SendTimeoutError (not sent)', async () => {
    const { endpoint } = await rawPull();
    const nowhere = endpoint.replace(/:\d+$/, ':1'); // nothing listens on port 1
    const pusher = track(new Pusher({ endpoints: nowhere, sendTimeoutMs: 150 }));
    const error = await pusher.push('ticket_created', 1, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    expect(error).toMatchObject({
      name: 'SendTimeoutError',
      event: 'ticket_created',
      timeoutMs: 150,
    });
    expect((error as Error).message).toMatch(
      /the event ticket_created was not sent: .* within 0.15s \(no puller is connected/,
    );
    expect(statusOf(error)).toBe('timed_out');
  });

  it('at the high-water mark pushes wait, then time out; once the puller reads again they go', async () => {
    const registry = new Registry();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let got = 0;
    registry.register(async function big(_data: Uint8Array) {
      got++;
      await gate;
    });
    const puller = track(
      new Puller({ registry, logger: quiet, concurrency: 1, socket: { receiveHighWaterMark: 1 } }),
    );
    await puller.bind('tcp://127.0.0.1:*');
    const pusher = track(
      new Pusher({
        endpoints: puller.endpoints,
        sendTimeoutMs: 300,
        socket: { sendHighWaterMark: 1 },
      }),
    );
    // 1 MiB events: the kernel's socket buffers hold a few; then ZeroMQ's pipes are full.
    const data = new Uint8Array(1 << 20);
    let sent = 0;
    let failure: unknown;
    // (A push that times out before the connection is up, on a loaded machine, does not count.)
    for (let i = 0; i < 200 && failure === undefined; i++) {
      await pusher.push('big', data).then(
        () => sent++,
        (error: unknown) => {
          if (sent > 0) failure = error;
        },
      );
    }
    expect(failure).toBeInstanceOf(SendTimeoutError);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(200);
    release();
    await pusher.push('big', data); // room again
    await until(() => got === sent + 1, 10_000, 'every sent event to run');
    expect(puller.stats.received).toBe(sent + 1); // the timed-out one never went
  });

  it('close() hands every queued event over within the grace, then refuses new ones', async () => {
    const puller = await boundPuller();
    const pusher = new Pusher<typeof Handlers>({ endpoints: puller.endpoints });
    const pushes = Array.from({ length: 2000 }, (_, i) => pusher.ticket_created(i, 'queued'));
    const settled = Promise.allSettled(pushes);
    expect(pusher.queued).toBeGreaterThan(0);
    await pusher.close();
    const results = await settled;
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2000);
    await until(() => ran.length === 2000, 10_000, 'all to run');
    await expect(pusher.ticket_created(1, 'late')).rejects.toBeInstanceOf(ClientClosedError);
    expect(pusher.closed).toBe(true);
  });

  it('close() with no puller fails what could not go out within the grace, and resolves', async () => {
    const { endpoint } = await rawPull();
    const pusher = new Pusher({ endpoints: endpoint.replace(/:\d+$/, ':1') });
    const settled = Promise.allSettled(Array.from({ length: 5 }, () => pusher.push('lost')));
    await pusher.close({ graceMs: 100 });
    const results = await settled;
    expect(results.map((r) => r.status === 'rejected' && (r.reason as Error).name)).toEqual(
      Array(5).fill('ClientClosedError'),
    );
  });

  it('an event that cannot be encoded fails alone; the next one goes', async () => {
    const puller = await boundPuller();
    const pusher = track(new Pusher({ endpoints: puller.endpoints }));
    await expect(pusher.push('ticket_created', 1, () => 'a function')).rejects.toThrow(
      /cannot encode the event ticket_created as msgpack/,
    );
    await expect(pusher.push('')).rejects.toThrow(/an event needs a name/);
    await pusher.push('ticket_created', 2, 'fine');
    await until(() => ran.length === 1, 5000, 'the good event');
    expect(ran[0]!.args).toEqual([2, 'fine']);
  });

  it.each(['close', 'no close'])(
    'a process whose pusher holds events nobody reads still exits (%s): the linger bounds it',
    async (how) => {
      const pull = new Pull({ receiveHighWaterMark: 1 }); // bound, never read
      closers.push(() => pull.close());
      await pull.bind('tcp://127.0.0.1:*');
      const script = fileURLToPath(new URL('./fixtures/push-and-exit.mjs', import.meta.url));
      const child = spawn(process.execPath, [script, pull.lastEndpoint!, how], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      const exited = once(child, 'exit');
      const bound = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const [code, signal] = await exited;
      clearTimeout(bound);
      expect({ code, signal }).toEqual({ code: 0, signal: null }); // not killed by the bound
      expect(JSON.parse(out)).toMatchObject({ stoppedBy: 'SendTimeoutError' });
      expect(JSON.parse(out).sent).toBeGreaterThan(0);
    },
  );
});
