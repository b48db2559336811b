/*
 * Methods registered with `{ worker }` run on the server's worker threads:
 * real sockets, real threads, the TypeScript fixture imported in each worker
 * through tsx (no build). Calls are made the way zerorpc clients make them:
 * a Channel heart-beating on a timer, which declares the server lost when
 * its heartbeats stop.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { Registry, type ServerMiddleware } from '@zrpc/core';
import { decodeValue, encodeValue, monotonicNow, type ZEvent } from '@zrpc/core/protocol';
import { afterAll, describe, expect, test } from 'vitest';
import { Server } from '../src/index.js';
import { registry } from './fixtures/workers/methods.js';
import { quietLogger, RawClient, readStream, serverPerTest } from './helpers.js';
import { callWithHeartbeats } from './workers-helpers.js';

const HEARTBEAT_MS = 200;
/** Three heartbeat intervals: a caller that hears nothing for two gives up. */
const LONG_MS = 3 * HEARTBEAT_MS;

const session = serverPerTest();
const marks = mkdtempSync(join(tmpdir(), 'zrpc-workers-'));
afterAll(() => rmSync(marks, { recursive: true, force: true }));

function serve(options: Parameters<typeof session.start>[0] = {}) {
  // The raw clients here play reference peers at the server's pace.
  const pace = { heartbeatMs: HEARTBEAT_MS, assumedPeerHeartbeatMs: HEARTBEAT_MS };
  return session.start({ registry, ...pace, workers: 2, ...options });
}

function call(
  client: RawClient,
  name: string,
  args: unknown[],
  header: Record<string, unknown> = {},
): Promise<ZEvent> {
  return callWithHeartbeats(client, name, args, HEARTBEAT_MS, header);
}

describe('a handler that computes for three heartbeat intervals', () => {
  test('completes on a worker thread, and other calls are answered meanwhile', async () => {
    const { client, endpoint } = await serve();
    await call(client, 'burnOnWorker', [1]); // the threads are up
    const busy = new RawClient(endpoint);
    try {
      let over = false;
      const long = call(busy, 'burnOnWorker', [LONG_MS]).finally(() => {
        over = true;
      });
      // While it computes, the loop is free: cheap calls come back, none waiting for it.
      let answered = 0;
      let slowest = 0;
      while (!over) {
        const started = monotonicNow();
        const reply = await call(client, 'add', [answered, 1]);
        slowest = Math.max(slowest, monotonicNow() - started);
        expect(reply).toMatchObject({ name: 'OK', args: [answered + 1] });
        answered++;
      }
      expect(answered).toBeGreaterThanOrEqual(3);
      expect(slowest).toBeLessThan(LONG_MS);
      const reply = await long;
      expect(reply.name).toBe('OK');
      const [worker] = reply.args as [number];
      expect(worker).not.toBe(threadId); // it ran on another thread
      expect(worker).toBeGreaterThan(0);
    } finally {
      await busy.close();
    }
  });

  // The control, the same handler on the event loop ending in LostRemoteError
  // at the caller, is in runner-workers.test.ts: it needs the server in
  // another process than the caller, whose own timers the handler would stop.
  test('on the event loop it is logged by name, with the advice to use a worker', async () => {
    const logger = quietLogger();
    const { client } = await serve({ logger });
    await call(client, 'burnOnLoop', [LONG_MS]);
    await call(client, 'burnOnWorker', [LONG_MS]);
    await client.until(() => logger.lines.length > 0, 5000, 'the warning');
    const warnings = logger.lines.filter((line) => line.level === 'warn').map((l) => l.args[0]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^zrpc server: burnOnLoop\(\) held the event loop for \d+ ms \(threshold 20 ms\).*\{ worker: true \}/,
      ),
    ]);
  });
});

describe('values cross the thread boundary as msgpack', () => {
  const values = {
    big: 2n ** 63n - 1n,
    negative: -(2n ** 60n),
    beyondSafe: 2n ** 53n + 1n,
    bytes: Buffer.from([0, 1, 2, 254, 255]),
    empty: Buffer.alloc(0),
    nested: { a: { b: [1, 2.5, -0.75, 'three', null, true] } },
    float: 1.5,
    int: 3,
    text: 'héllo ✓',
    list: [[1, [2, [3]]], {}],
  };

  test('what the handler returns is, byte for byte, what the same handler returns on the loop', async () => {
    const { client } = await serve();
    const onWorker = await call(client, 'echoOnWorker', [values]);
    const onLoop = await call(client, 'echoOnLoop', [values]);
    expect(onWorker.name).toBe('OK');
    expect(Buffer.from(encodeValue(onWorker.args))).toEqual(Buffer.from(encodeValue(onLoop.args)));
    // And exactly what was sent: bigint, bytes, maps, floats and ints each as they were.
    expect(Buffer.from(encodeValue(onWorker.args))).toEqual(Buffer.from(encodeValue([values])));
    const [back] = onWorker.args as [typeof values];
    expect(back.big).toBe(2n ** 63n - 1n);
    expect(back.beyondSafe).toBe(2n ** 53n + 1n);
    expect(new Uint8Array(back.bytes)).toEqual(new Uint8Array([0, 1, 2, 254, 255]));
    expect(back.nested).toEqual(values.nested);
  });

  test('a float stays a float and an int an int on the wire', async () => {
    const { client } = await serve();
    const reply = await call(client, 'echoOnWorker', [[1.5, 2, -0.5]]);
    const raw = client.received.find((r) => r.event.name === 'OK')!.raw;
    const [, , args] = decodeValue(raw) as [unknown, unknown, [number[]]];
    expect(args[0]).toEqual([1.5, 2, -0.5]);
    // msgpack: 0xcb is a float64; 2 is the positive fixint 0x02.
    const payload = Buffer.from(encodeValue(reply.args));
    expect(payload.includes(Buffer.from([0xcb]))).toBe(true);
    expect(payload.includes(Buffer.from([0x02]))).toBe(true);
  });

  test("a handler's error reaches the caller under its own name", async () => {
    const { client } = await serve({ tracebacks: true });
    const reply = await call(client, 'fails', ['input']);
    expect(reply.name).toBe('ERR');
    const [name, message, traceback] = reply.args as string[];
    expect([name, message]).toEqual(['ValueError', 'bad input']);
    expect(traceback).toMatch(/^ValueError: bad input\n\s+at fails/);
  });

  test('middleware wraps the call on the main thread; inside the worker currentCall() has the call as it arrived', async () => {
    const seen: unknown[] = [];
    const middleware: ServerMiddleware = async (ctx, next) => {
      ctx.state.set('user', 'ada'); // stays on this thread
      await next();
      seen.push({ method: ctx.method, thread: threadId, result: ctx.result });
    };
    const { client } = await serve({ middleware: [middleware] });
    const reply = await call(client, 'whoami', [], { trace_id: 'abc' });
    const inWorker = {
      method: 'whoami',
      args: [],
      taskContext: { trace_id: 'abc' },
      peer: expect.stringMatching(/^[0-9a-f]+$/),
      stateSize: 0,
      aborted: false,
      onWorker: true,
    };
    expect(reply.args).toEqual([inWorker]);
    // Keys the handler put in its replyHeader come back with the reply.
    expect(reply.header.served_by).toBe('worker');
    expect(seen).toEqual([{ method: 'whoami', thread: threadId, result: inWorker }]);
  });
});

describe('a caller that goes away cancels its task', () => {
  test('a handler that computes without looking is stopped: its worker is terminated and replaced', async () => {
    const { server, client, endpoint } = await serve({ workers: 1 });
    const before = await call(client, 'burnOnWorker', [1]); // the thread is up
    const mark = join(marks, 'stubborn');
    const gone = new RawClient(endpoint);
    gone.request('stubborn', [20 * HEARTBEAT_MS, mark]); // then silence: lost after 2 intervals
    await gone.until(() => existsSync(`${mark}.started`), 5000, 'the handler to start');
    await gone.until(() => server.stats.lostRemotes === 1, 10_000, 'the lost remote');
    await gone.close();
    try {
      // The pool is whole again: the next call runs on a new thread, well before the old work would have ended.
      const reply = await call(client, 'burnOnWorker', [1]);
      expect(reply.name).toBe('OK');
      expect(reply.args).not.toEqual(before.args);
      expect(server.stats.workers.threads).toBe(1);
      await sleep(20 * HEARTBEAT_MS);
      expect(existsSync(mark)).toBe(false); // the computation never finished
      expect(server.stats.running).toBe(0);
    } finally {
      await gone.close();
    }
  });

  test('a handler that watches its signal returns early on the same worker', async () => {
    const { server, client, endpoint } = await serve({ workers: 1 });
    const before = await call(client, 'burnOnWorker', [1]); // the thread is up
    const mark = join(marks, 'patient');
    const gone = new RawClient(endpoint);
    try {
      gone.request('patient', [mark]); // then silence: lost after 2 intervals
      await gone.until(() => existsSync(mark), 10_000, 'the handler to stop');
      expect(readFileSync(mark, 'utf8')).toMatch(/^stopped: Lost remote after/);
      const after = await call(client, 'burnOnWorker', [1]);
      expect(after.args).toEqual(before.args); // still the one thread: none was terminated
      expect(server.stats.workers.threads).toBe(1);
      await client.until(() => server.stats.running === 0, 5000, 'the slot back');
    } finally {
      await gone.close();
    }
  });

  test('a task still queued never starts', async () => {
    const { server, endpoint } = await serve({ workers: 1 });
    const busy = new RawClient(endpoint);
    const gone = new RawClient(endpoint);
    const mark = join(marks, 'queued');
    try {
      const long = call(busy, 'burnOnWorker', [LONG_MS * 4]); // holds the only thread
      await busy.until(() => server.stats.workers.queued === 0 && server.stats.running === 1, 5000);
      gone.request('stubborn', [1, mark]); // queued behind it, then the caller goes silent
      await gone.until(() => server.stats.lostRemotes === 1, 10_000, 'the lost remote');
      expect((await long).name).toBe('OK');
      await busy.until(() => server.stats.running === 0, 5000, 'every slot back');
      expect(existsSync(mark)).toBe(false);
    } finally {
      await busy.close();
      await gone.close();
    }
  });
});

test('a server without worker methods starts no thread; close() stops the pool', async () => {
  const { server, client } = await serve();
  expect((await call(client, 'add', [1, 2])).args).toEqual([3]);
  expect(server.stats.workers.threads).toBe(0);
  expect((await call(client, 'burnOnWorker', [1])).name).toBe('OK');
  expect(server.stats.workers.threads).toBe(2);
  await server.close({ graceMs: 0 });
  expect(server.stats.workers.threads).toBe(0);
});

describe('mistakes get a clear answer', () => {
  test('a module that does not register the method in a worker, or does not exist: ERR naming it', async () => {
    const ghosts = new Registry();
    const methods = new URL('./fixtures/workers/methods.ts', import.meta.url).href;
    ghosts.register((n: number) => n, { name: 'ghost', worker: methods });
    ghosts.register((n: number) => n, { name: 'lost', worker: `${methods}.missing.ts` });
    const { client } = await serve({ registry: ghosts });
    const ghost = await call(client, 'ghost', [1]);
    expect(ghost.name).toBe('ERR');
    expect((ghost.args as string[])[1]).toBe(
      `ghost: ${methods} did not register it with { worker } when imported in a worker thread`,
    );
    const lost = await call(client, 'lost', [1]);
    expect(lost.name).toBe('ERR');
    expect((lost.args as string[])[1]).toMatch(/Cannot find module .*methods\.ts\.missing\.ts/);
  });

  test('a result msgpack cannot carry: ERR saying so, as on the loop', async () => {
    const { client } = await serve();
    const reply = await call(client, 'unencodable', []);
    expect(reply.name).toBe('ERR');
    expect((reply.args as string[]).slice(0, 2)).toEqual([
      'TypeError',
      expect.stringMatching(/^cannot encode the reply of unencodable\(\) as msgpack: /),
    ]);
  });

  test('the workers and blockWarnMs options are checked', () => {
    const logger = quietLogger();
    expect(() => new Server({ workers: 0, logger })).toThrow(
      'workers must be an integer >= 1, got 0',
    );
    expect(() => new Server({ workers: 1.5, logger })).toThrow(RangeError);
    expect(() => new Server({ blockWarnMs: 0, logger })).toThrow(
      'blockWarnMs must be a positive number of milliseconds',
    );
  });
});

describe('stream methods on workers', () => {
  test('items are computed on the worker and arrive in order, exactly, within the credit granted', async () => {
    const { client } = await serve({ heartbeatMs: 5000 });
    const id = client.request('countOnWorker', [150, 0]);
    const read = await readStream(client, id);
    expect(read.final.name).toBe('STREAM_DONE');
    expect(read.items).toHaveLength(150);
    read.items.forEach((item, i) => {
      const [index, thread, big] = item as [number, number, bigint];
      expect([index, big]).toEqual([i, 2n ** 60n + BigInt(i)]);
      expect(thread).not.toBe(threadId);
    });
    expect(read.maxOverrun).toBeLessThanOrEqual(0);
  });

  test('the worker waits when credit is spent: one item made per credit', async () => {
    const { client } = await serve({ heartbeatMs: 5000 });
    const progress = join(marks, 'progress');
    const id = client.request('countOnWorker', [5, 0, progress]);
    // A request carries one credit: one item, then the generator waits where it is.
    expect((await client.nextReply(10_000)).name).toBe('STREAM');
    await sleep(300);
    expect(client.replies).toBe(1);
    expect(readFileSync(progress, 'utf8')).toBe('1');
    client.onChannel(id, '_zpc_more', [2]);
    expect((await client.nextReply()).name).toBe('STREAM');
    expect((await client.nextReply()).name).toBe('STREAM');
    await sleep(300);
    expect(client.replies).toBe(3);
    expect(readFileSync(progress, 'utf8')).toBe('3');
    client.onChannel(id, '_zpc_more', [10]);
    const rest = [await client.nextReply(), await client.nextReply(), await client.nextReply()];
    expect(rest.map((event) => event.name)).toEqual(['STREAM', 'STREAM', 'STREAM_DONE']);
  });

  test("a generator's error ends the stream with ERR under its name", async () => {
    const { client } = await serve({ heartbeatMs: 5000 });
    const read = await readStream(client, client.request('breaksOnWorker', []));
    expect(read.items).toEqual([1, 2]);
    expect(read.final.name).toBe('ERR');
    expect((read.final.args as string[]).slice(0, 2)).toEqual(['ValueError', 'broke after 2']);
  });

  test('a lost caller closes the generator in its worker (its finally runs), the thread stays', async () => {
    const { server, client, endpoint } = await serve({ workers: 1 });
    const before = await call(client, 'burnOnWorker', [1]); // the thread is up
    const mark = join(marks, 'endless');
    const gone = new RawClient(endpoint);
    try {
      gone.request('endlessOnWorker', [mark]); // one credit, then silence: lost after 2 intervals
      await gone.until(() => existsSync(mark), 10_000, 'the generator to close');
      expect(readFileSync(mark, 'utf8')).toBe('closed');
      const after = await call(client, 'burnOnWorker', [1]);
      expect(after.args).toEqual(before.args);
      await client.until(() => server.stats.running === 0, 5000, 'the slot back');
    } finally {
      await gone.close();
    }
  });
});
