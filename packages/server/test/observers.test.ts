// Every request's end reaches the server's observers as one CallEnd, with
// its status from core's vocabulary: answered and failed calls, and the
// requests refused before any middleware saw them. Real sockets.
import { type CallEnd, type CallStatus, Registry, type ServerMiddleware } from '@zrpc/core';
import { encodeEvent } from '@zrpc/core/protocol';
import { describe, expect, it } from 'vitest';
import { deferred, quietLogger, readStream, serverPerTest } from './helpers.js';

const gate = deferred();
const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});
registry.register(function fail(): never {
  throw new RangeError('no');
});
registry.register(function hold() {
  return gate.promise;
});
registry.register(
  function* count(n: number) {
    for (let i = 0; i < n; i++) yield i;
  },
  { stream: true },
);

const session = serverPerTest();

/** A server whose observer collects every CallEnd, and whose middleware lists the calls it saw. */
async function observed(options: Parameters<typeof session.start>[0] = {}) {
  const ends: CallEnd[] = [];
  const seen: string[] = [];
  const middleware: ServerMiddleware = async (ctx, next) => {
    seen.push(ctx.method);
    await next();
  };
  const started = await session.start({
    registry,
    middleware: [middleware],
    observers: [(end) => ends.push(end)],
    ...options,
  });
  const until = (n: number) => started.client.until(() => ends.length >= n, 5000, `${n} call ends`);
  return { ...started, ends, seen, until };
}

describe('a CallEnd per request', () => {
  it('an answered call: ok, ran, its bytes both ways', async () => {
    const { client, ends, until } = await observed();
    client.request('add', [1, 2]);
    await client.nextReply();
    await until(1);
    expect(ends[0]).toMatchObject({
      side: 'server',
      method: 'add',
      status: 'ok',
      ran: true,
      stream: false,
    });
    expect(ends[0]!.peer).toMatch(/^[0-9a-f]+$/);
    expect(ends[0]!.bytesIn).toBeGreaterThan(20);
    expect(ends[0]!.bytesOut).toBeGreaterThan(20);
    expect(ends[0]!.error).toBeUndefined();
  });

  it('a handler that throws: error, with what it threw', async () => {
    const { client, ends, until } = await observed();
    client.request('fail', []);
    await client.nextReply();
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'fail', status: 'error', ran: true });
    expect(ends[0]!.error).toBeInstanceOf(RangeError);
  });

  it('a stream: ok once its last item is out, marked as a stream', async () => {
    const { client, ends, until } = await observed();
    const { items } = await readStream(client, client.request('count', [3]));
    expect(items).toEqual([0, 1, 2]);
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'count', status: 'ok', stream: true, ran: true });
  });

  it('an observer may be added and removed while the server runs', async () => {
    const { server, client, until } = await observed();
    const late: CallStatus[] = [];
    const stop = server.observe((end) => late.push(end.status));
    client.request('add', [1, 2]);
    await client.nextReply();
    await until(1);
    stop();
    client.request('add', [3, 4]);
    await client.nextReply();
    await until(2);
    expect(late).toEqual(['ok']);
  });
});

describe('refused requests reach the observers, never the middleware', () => {
  const refusals: Array<[string, CallStatus, (s: Awaited<ReturnType<typeof observed>>) => void]> = [
    ['an unknown method', 'unknown_method', ({ client }) => client.request('nope', [])],
    ['a wrong number of arguments', 'bad_arguments', ({ client }) => client.request('add', [1])],
    ['arguments that are no array', 'bad_arguments', ({ client }) => client.request('add', 'one')],
  ];
  for (const [what, status, send] of refusals) {
    it(`${what}: ${status}`, async () => {
      const started = await observed();
      send(started);
      await started.client.nextReply();
      await started.until(1);
      expect(started.ends[0]).toMatchObject({ status, ran: false });
      expect(started.seen).toEqual([]);
    });
  }

  it('every slot and the queue full: refused_busy', async () => {
    const { client, ends, seen, until } = await observed({ concurrency: 1, queueLimit: 0 });
    client.request('hold', []);
    client.request('add', [1, 2]);
    const refused = await client.nextReply();
    expect((refused.args as string[])[0]).toBe('ServerBusyError');
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'add', status: 'refused_busy', ran: false });
    expect(seen).toEqual(['hold']);
    gate.resolve();
    await until(2);
    expect(ends[1]).toMatchObject({ method: 'hold', status: 'ok', ran: true });
  });

  it('a peer over its channel limit: refused_peer_limit', async () => {
    const { client, ends, until } = await observed({ maxChannelsPerPeer: 1 });
    client.request('count', [1_000_000]); // holds its channel: it waits for credit
    expect((await client.nextReply()).name).toBe('STREAM');
    client.request('add', [1, 2]);
    const refused = await client.nextReply();
    expect((refused.args as string[])[0]).toBe('TooManyChannelsError');
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'add', status: 'refused_peer_limit', ran: false });
  });

  it('a server shutting down: refused_closing (ServerDrainingError)', async () => {
    const slow = deferred();
    const slowRegistry = new Registry();
    slowRegistry.register(function wait() {
      return slow.promise;
    });
    slowRegistry.register(function add(a: number, b: number) {
      return a + b;
    });
    const { server, client, ends, until } = await observed({ registry: slowRegistry });
    client.request('wait', []);
    await client.until(() => server.stats.running === 1, 5000, 'the call to run');
    const closing = server.close({ graceMs: 5000 });
    expect(server.state).toBe('draining');
    client.request('add', [1, 2]);
    const refused = await client.nextReply();
    expect((refused.args as string[])[0]).toBe('ServerDrainingError');
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'add', status: 'refused_closing', ran: false });
    slow.resolve();
    await closing;
    expect(server.state).toBe('closed');
    expect(ends[1]).toMatchObject({ method: 'wait', status: 'ok' });
  });

  it('a request whose arguments cannot be decoded: protocol_error', async () => {
    const { client, ends, until } = await observed();
    const good = encodeEvent({ header: { message_id: 'x1', v: 3 }, name: 'add', args: [1, 2] });
    // Truncate inside the args: the head (header, name) still reads.
    client.sendFrames([Buffer.alloc(0), Buffer.from(good.subarray(0, good.length - 1))]);
    const refused = await client.nextReply();
    expect((refused.args as string[])[0]).toBe('ProtocolError');
    await until(1);
    expect(ends[0]).toMatchObject({ method: 'add', status: 'protocol_error', ran: false });
  });
});

describe('observers that fail', () => {
  it('an observer that throws is reported once and fails no call', async () => {
    const logger = quietLogger();
    const { server, client, ends, until } = await observed({ logger });
    server.observe(() => {
      throw new Error('observer bug');
    });
    for (let i = 0; i < 3; i++) {
      client.request('add', [i, 1]);
      expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [i + 1] });
    }
    await until(3);
    expect(ends.map((end) => end.status)).toEqual(['ok', 'ok', 'ok']);
    const reports = logger.lines.filter((line) => String(line.args[0]).includes('observer'));
    expect(reports).toHaveLength(1);
    expect(String(reports[0]!.args[1])).toContain('observer bug');
  });

  it('an observer that is not a function is refused when the server is made', async () => {
    await expect(observed({ observers: ['nope' as unknown as () => void] })).rejects.toThrow(
      /an observer must be a function/,
    );
  });
});
