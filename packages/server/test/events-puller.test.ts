/**
 * The Puller: events pushed by raw PUSH sockets (as zerorpc-python's Pusher
 * sends them) run as registered methods, with the server's middleware and
 * task context, their failures logged and observed, never answered.
 */
import {
  type CallEnd,
  currentCall,
  Registry,
  type ServerCallContext,
  type ServerMiddleware,
} from '@zrpc/core';
import { encodeValue } from '@zrpc/core/protocol';
import { eventOf, eventScenario } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { eventFrame, eventsPerTest, until } from './events-helpers.js';
import { registry as workerMethods } from './fixtures/workers/methods.js';
import { withPlainBytes } from './helpers.js';

const events = eventsPerTest();

describe('running pushed events', () => {
  it('runs each event as its registered method, in the event context, with the task context', async () => {
    const registry = new Registry();
    const seen: Array<{ args: unknown[]; ctx: ServerCallContext | undefined }> = [];
    registry.register(function ticket_created(id: number, title: string) {
      seen.push({ args: [id, title], ctx: currentCall() });
      return 'dropped';
    });
    const { puller, endpoint } = await events.puller({ registry });
    const push = events.push(endpoint);
    await push.send(eventFrame('ticket_created', [42, 'printer on fire'], { trace_id: 't-1' }));
    await until(() => seen.length === 1, 'the event to run');

    const { args, ctx } = seen[0]!;
    expect(args).toEqual([42, 'printer on fire']);
    expect(ctx).toMatchObject({
      side: 'server',
      oneWay: true,
      method: 'ticket_created',
      peer: '',
      stream: false,
      taskContext: { trace_id: 't-1' },
    });
    expect(ctx!.header.v).toBe(3);
    await until(() => puller.stats.ok === 1, 'the event counted');
    expect(puller.stats).toMatchObject({ received: 1, ok: 1, failed: 0, running: 0, bytesHeld: 0 });
  });

  it("runs what zerorpc-python's Pusher sent (recorded), values exact", async () => {
    const registry = new Registry();
    const ran: unknown[][] = [];
    registry.register(function ticket_created(...args: unknown[]) {
      ran.push(['ticket_created', ...args]);
    });
    registry.register(function ping() {
      ran.push(['ping']);
    });
    registry.register(async function echo(...args: unknown[]) {
      ran.push(['echo', ...args]);
    });
    const { endpoint } = await events.puller({ registry });
    const push = events.push(endpoint);
    const scenario = eventScenario('pusher_to_pull');
    for (const message of scenario.events) await push.send(message.frames);
    await until(() => ran.length === scenario.events.length, 'every recorded event to run');

    const expected = scenario.events.map((message) => {
      const { name, args } = eventOf(message.event);
      return [name, ...(args as unknown[])];
    });
    expect(withPlainBytes(ran)).toEqual(expected);
    // 2**63 stays exact, 2.5 stays a float, bytes stay bytes.
    expect(ran[2]).toEqual(['echo', { a: [1, 2.5, null] }, expect.any(Uint8Array), 2n ** 63n]);
  });

  it('is the reference Puller: an unknown name and a raising method are logged and dropped, and it keeps pulling', async () => {
    const scenario = eventScenario('push_to_puller');
    const registry = new Registry();
    const ran: unknown[][] = [];
    registry.register(function ticket_created(id: number, title: string) {
      ran.push(['ticket_created', id, title]);
    });
    registry.register(function boom() {
      throw new Error('boom');
    });
    const { puller, logger, endpoint } = await events.puller({ registry });
    const push = events.push(endpoint);
    for (const event of scenario.sent) {
      const { header, name, args } = eventOf(event);
      await push.send(Buffer.from(encodeValue([header, name, args])));
    }
    await until(
      () => puller.stats.received === scenario.sent.length && puller.stats.running === 0,
      'all four handled',
    );

    expect(ran).toEqual(scenario.puller_ran);
    expect(puller.stats).toMatchObject({ ok: 2, failed: 1, unknownMethods: 1 });
    const failure = logger.lines.find((line) => line.level === 'error')!;
    expect(failure.args[0]).toMatch(
      /^boom failed in [\d.]+ ms \(pushed event, not answered\): Error: boom$/,
    );
    expect((failure.args[1] as Error).message).toBe('boom');
    const warning = logger.lines.find((line) => line.level === 'warn')!;
    expect(warning.args[0]).toMatch(/1 unknownMethods .*NameError: nope/);
  });

  it('runs a middleware around each event, which sees oneWay and the error an event ended with', async () => {
    const registry = new Registry();
    registry.register(async function slow(ms: number) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    });
    registry.register(function fails() {
      throw new TypeError('nope');
    });
    const log: string[] = [];
    const watch: ServerMiddleware = async (ctx, next) => {
      log.push(`before ${ctx.method} oneWay=${ctx.oneWay}`);
      try {
        await next();
        log.push(`after ${ctx.method} result=${String(ctx.result)}`);
      } catch (error) {
        log.push(`caught ${ctx.method} ${(error as Error).name}`);
        throw error;
      }
    };
    const { puller, endpoint } = await events.puller({ registry, middleware: [watch] });
    const push = events.push(endpoint);
    await push.send(eventFrame('slow', [5]));
    await until(() => puller.stats.ok === 1, 'slow to end');
    await push.send(eventFrame('fails', []));
    await until(() => puller.stats.failed === 1, 'fails to end');
    expect(log).toEqual([
      'before slow oneWay=true',
      'after slow result=5',
      'before fails oneWay=true',
      'caught fails TypeError',
    ]);
  });

  it('runs a method registered with { worker } on a worker thread', async () => {
    const ends: CallEnd[] = [];
    const { puller, endpoint } = await events.puller({
      registry: workerMethods,
      workers: 1,
      observers: [(end) => ends.push(end)],
    });
    const push = events.push(endpoint);
    await push.send(eventFrame('echoOnWorker', [{ big: 2n ** 63n }]));
    await push.send(eventFrame('fails', ['input']));
    await until(() => ends.length === 2, 'both to end');
    expect(ends[0]).toMatchObject({ status: 'ok', ctx: { result: { big: 2n ** 63n } } });
    expect(ends[1]).toMatchObject({
      status: 'error',
      error: { name: 'ValueError', message: 'bad input' },
    });
    expect(puller.stats).toMatchObject({ ok: 1, failed: 1 });
  });
});

describe('refusals, bad input and observers', () => {
  it('tells observers of every event received, refusals included, with their status', async () => {
    const registry = new Registry();
    registry.register(function add(a: number, b: number) {
      return a + b;
    });
    registry.register(
      function* count(n: number) {
        for (let i = 0; i < n; i++) yield i;
      },
      { stream: true },
    );
    registry.register(function fails() {
      throw new RangeError('out of range');
    });
    const ends: CallEnd[] = [];
    const { puller, endpoint } = await events.puller({
      registry,
      observers: [(end) => ends.push(end)],
    });
    const later: CallEnd[] = [];
    const stop = puller.observe((end) => later.push(end));
    const push = events.push(endpoint);
    const frames = [
      eventFrame('add', [1, 2]),
      eventFrame('nope', []),
      eventFrame('add', [1]),
      eventFrame('add', 'not a list'),
      eventFrame('count', [3]),
      eventFrame('fails', []),
      eventFrame('_zerorpc_ping', []),
    ];
    for (const frame of frames) await push.send(frame);
    await until(() => ends.length === frames.length, 'an end per event');

    expect(ends.map((end) => [end.method, end.status, end.ran])).toEqual([
      ['add', 'ok', true],
      ['nope', 'unknown_method', false],
      ['add', 'bad_arguments', false],
      ['add', 'bad_arguments', false],
      ['count', 'bad_arguments', false],
      ['fails', 'error', true],
      ['_zerorpc_ping', 'unknown_method', false],
    ]);
    for (const [i, end] of ends.entries()) {
      expect(end).toMatchObject({
        side: 'server',
        oneWay: true,
        peer: '',
        bytesIn: frames[i]!.length,
        bytesOut: 0,
        stream: false,
      });
    }
    expect(ends[0]!.error).toBeUndefined();
    expect(ends[0]!.ctx).toMatchObject({ method: 'add', oneWay: true, result: 3 });
    expect((ends[4]!.error as Error).message).toMatch(/count\(\) is a stream method/);
    expect((ends[5]!.error as Error).name).toBe('RangeError');
    expect(later).toHaveLength(frames.length);
    stop();
    await push.send(eventFrame('add', [2, 2]));
    await until(() => ends.length === frames.length + 1, 'one more end');
    expect(later).toHaveLength(frames.length);
    expect(puller.stats).toMatchObject({ ok: 2, failed: 1, unknownMethods: 2, badArguments: 3 });
  });

  it('logs bad input at most once a minute, counts all of it, and keeps running good events', async () => {
    const registry = new Registry();
    let good = 0;
    registry.register(function tick() {
      good++;
    });
    const ends: CallEnd[] = [];
    const { puller, logger, endpoint } = await events.puller({
      registry,
      observers: [(end) => ends.push(end)],
    });
    const push = events.push(endpoint);
    const garbage = [
      Buffer.from('not msgpack at all'),
      Buffer.from(encodeValue({ an: 'object' })),
      Buffer.from(encodeValue([1, 2])),
      Buffer.alloc(0),
    ];
    // A readable header and name, then args that cannot be decoded (invalid UTF-8).
    const unreadableArgs = Buffer.concat([
      eventFrame('tick', []).subarray(0, -1),
      Buffer.from([0x91, 0xa2, 0xff, 0xfe]),
    ]);
    for (let round = 0; round < 25; round++) {
      for (const frame of garbage) await push.send(frame);
      await push.send(unreadableArgs);
      await push.send(eventFrame('missing', [round]));
      await push.send(eventFrame('tick', []));
    }
    await until(() => good === 25 && puller.stats.received === 25 * 7, 'every message handled');

    expect(puller.stats).toMatchObject({ badFrames: 125, unknownMethods: 25, ok: 25 });
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1); // the first at once; the rest wait for the minute
    expect(warnings[0]!.args[0]).toMatch(/^zrpc server ignored bad input: 1 badFrames/);
    // An event whose name could be read is observed as a protocol error; garbage is only counted.
    expect(ends.filter((end) => end.status === 'protocol_error').map((end) => end.method)).toEqual(
      Array(25).fill('tick'),
    );
    await puller.close({ graceMs: 0 });
    const summary = logger.lines.filter((line) => line.level === 'warn').at(-1)!;
    expect(summary.args[0]).toMatch(/124 badFrames, 25 unknownMethods/);
  });
});
