// The server's log of calls: one line per call when it ends, at the level
// its status deserves, through a real pino logger (JSON lines captured in
// memory) and through a plain `{ info, warn, error }` logger. Real sockets.
import { callSignal, Registry } from '@zrpc/core';
import { closeServer, FakeClock } from '@zrpc/testkit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server, ServerOptions } from '../src/index.js';
import { deferred, quietLogger, RawClient, startServer, until } from './helpers.js';

class ValueError extends Error {}

const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});
registry.register(function fail(why: string): never {
  throw new ValueError(why);
});
/** Holds its call until the test resolves `held` (or the call is cancelled). */
let held = deferred();
registry.register(async function hold() {
  const signal = callSignal()!;
  await new Promise((resolve, reject) => {
    held.promise.then(resolve);
    signal.addEventListener('abort', () => reject(signal.reason));
  });
  return 'done';
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose JSON lines land in `lines`. */
function capturedPino(level = 'info') {
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (chunk: string) => lines.push(JSON.parse(chunk)) });
  return { logger, lines };
}

const open: Array<{ server: Server; client: RawClient; clock?: FakeClock }> = [];
afterEach(async () => {
  held.resolve();
  held = deferred();
  for (const { server, client, clock } of open.splice(0)) {
    await client.close();
    await closeServer(server, clock);
  }
});

async function serve(options: ServerOptions) {
  const { server, endpoint } = await startServer({ registry, ...options });
  const client = new RawClient(endpoint);
  const clock = options.clock instanceof FakeClock ? options.clock : undefined;
  open.push({ server, client, clock });
  return { server, client };
}

/** Wait for the log to hold `n` lines (a call's line is written as it ends). */
function untilLines(lines: unknown[], n: number): Promise<void> {
  return until(() => lines.length >= n, 5000, `${n} log lines (${lines.length} so far)`);
}

const PEER = /^[0-9a-f]+$/;

describe('with a pino logger', () => {
  it('writes one info line per answered call: method, peer, duration, status', async () => {
    const { logger, lines } = capturedPino();
    const { client } = await serve({ logger });
    client.request('add', [1, 2]);
    expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [3] });
    await untilLines(lines, 1);
    expect(lines[0]).toMatchObject({ level: 30, method: 'add', status: 'ok' });
    expect(lines[0]!.peer).toMatch(PEER);
    expect(lines[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(lines[0]!.msg).toMatch(/^add ok in \d+\.\d ms \(peer [0-9a-f]+\)$/);
    expect(lines[0]).not.toHaveProperty('args');
  });

  it("writes a handler's failure at error level with its traceback", async () => {
    const { logger, lines } = capturedPino();
    const { client } = await serve({ logger });
    client.request('fail', ['no such ticket']);
    expect(await client.nextReply()).toMatchObject({ name: 'ERR' });
    await untilLines(lines, 1);
    const [line] = lines;
    expect(line).toMatchObject({ level: 50, method: 'fail', status: 'error' });
    expect(line!.msg).toMatch(
      /^fail failed in \d+\.\d ms \(peer [0-9a-f]+\): ValueError: no such ticket$/,
    );
    const err = line!.err as { message: string; stack: string };
    expect(err.message).toBe('no such ticket');
    expect(err.stack).toMatch(/^Error: no such ticket\n {4}at .*fail .*log\.test\.ts/);
  });

  it('writes calls refused before running at warn level, without a traceback', async () => {
    const { logger, lines } = capturedPino();
    const { client } = await serve({ logger });
    client.request('nope', []);
    await client.nextReply();
    client.request('add', [1]);
    await client.nextReply();
    await untilLines(lines, 2);
    expect(lines.map(({ level, status, error }) => ({ level, status, error }))).toEqual([
      { level: 40, status: 'unknown_method', error: 'NameError: nope' },
      {
        level: 40,
        status: 'bad_arguments',
        error: "TypeError: add(a, b) missing 1 required positional argument: 'b'",
      },
    ]);
    expect(lines.some((line) => 'err' in line)).toBe(false);
  });

  it('writes an overload refusal at warn level', async () => {
    const { logger, lines } = capturedPino();
    const { client } = await serve({ logger, concurrency: 1, queueLimit: 0 });
    client.request('hold', []);
    client.request('add', [1, 2]);
    const refusal = await client.nextReply();
    expect((refusal.args as unknown[])[0]).toBe('ServerBusyError');
    await untilLines(lines, 1);
    expect(lines[0]).toMatchObject({ level: 40, method: 'add', status: 'refused_busy' });
    expect(lines[0]!.msg).toMatch(/^add refused in .*: ServerBusyError: server busy/);
  });

  it('writes a lost client at warn level, with how long the call lasted', async () => {
    const { logger, lines } = capturedPino();
    const clock = new FakeClock();
    const { server, client } = await serve({
      logger,
      clock,
      heartbeatMs: 100,
      assumedPeerHeartbeatMs: 100,
    });
    client.request('hold', []);
    await until(() => server.stats.openChannels === 1, 5000, 'the call');
    await client.close();
    clock.advance(2 * 100);
    await untilLines(lines, 1);
    expect(lines[0]).toMatchObject({ level: 40, method: 'hold', status: 'lost', durationMs: 200 });
    expect(lines[0]!.msg).toMatch(/^hold lost its client after 200\.0 ms \(peer [0-9a-f]+\)$/);
  });

  it('writes built-in calls at debug level, with the task context; arguments at trace level', async () => {
    const { logger, lines } = capturedPino('trace');
    const { client } = await serve({ logger });
    client.request('_zerorpc_ping', []);
    await client.nextReply();
    client.request('add', [2, 3], { trace_id: 'abc' });
    await client.nextReply();
    await untilLines(lines, 2);
    expect(lines[0]).toMatchObject({ level: 20, method: '_zerorpc_ping', status: 'ok' });
    expect(lines[1]).toMatchObject({
      level: 30,
      method: 'add',
      taskContext: { trace_id: 'abc' },
      args: [2, 3],
    });
  });

  it('leaves out what its level filters: at info, no built-in calls', async () => {
    const { logger, lines } = capturedPino('info');
    const { client } = await serve({ logger });
    client.request('_zerorpc_ping', []);
    await client.nextReply();
    client.request('add', [1, 1]);
    await client.nextReply();
    await untilLines(lines, 1);
    // A built-in's line would have come first (a call's line is written as it ends).
    await client.roundTrip();
    expect(lines.map((line) => line.method)).toEqual(['add']);
  });
});

describe('with a plain logger ({ info, warn, error }, console)', () => {
  it('gets each line as text, and a failure with the error after it (console prints its stack)', async () => {
    const logger = quietLogger();
    const { client } = await serve({ logger });
    client.request('add', [1, 2]);
    await client.nextReply();
    client.request('fail', ['bad']);
    await client.nextReply();
    client.request('_zerorpc_ping', []);
    await client.nextReply();
    await untilLines(logger.lines, 2);
    await client.roundTrip();
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[0]!.level).toBe('info');
    expect(logger.lines[0]!.args).toEqual([
      expect.stringMatching(/^add ok in \d+\.\d ms \(peer [0-9a-f]+\)$/),
    ]);
    expect(logger.lines[1]!.level).toBe('error');
    expect(logger.lines[1]!.args[0]).toMatch(/^fail failed in .*: ValueError: bad$/);
    expect(logger.lines[1]!.args[1]).toBeInstanceOf(ValueError);
  });
});
