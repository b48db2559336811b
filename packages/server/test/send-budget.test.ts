import { callSignal, type EventHeader, type MessageId, Registry } from '@zrpc/core';
import { decodeEvent, encodeEvent, MessageIdGenerator, type ZEvent } from '@zrpc/core/protocol';
import { afterEach, expect, test } from 'vitest';
import { Dealer } from 'zeromq';
import type { ServerOptions } from '../src/index.js';
import { MESSAGE_OVERHEAD_BYTES, SMALL_EVENT_ALLOWANCE } from '../src/outbox.js';
import { quietLogger, RawClient, startServer } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const REPLY = 256 * KiB;

const registry = new Registry();
registry.register(function blob(n: number) {
  return new Uint8Array(n);
});
registry.register(function add(a: number, b: number) {
  return a + b;
});
registry.register(
  function* blobs(n: number, size: number) {
    for (let i = 0; i < n; i++) yield new Uint8Array(size).fill(i % 256);
  },
  { stream: true },
);
registry.register(function hold() {
  // Runs until the call is cancelled or lost.
  const signal = callSignal()!;
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
});

/**
 * A raw DEALER that sends requests and reads nothing until told to: ZeroMQ
 * takes one message off the wire for it (receive high-water mark 1), its
 * kernel socket buffer is fixed small (else Linux grows it up to
 * `tcp_rmem`'s maximum, 32 MiB here, which would swallow a test's
 * replies), and the rest stays with the server.
 */
class NonReader {
  readonly socket = new Dealer({ linger: 0, receiveHighWaterMark: 1, receiveBufferSize: 64 * KiB });
  private readonly ids = new MessageIdGenerator();

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
  }

  /** Send the request `times` times; answers the last one's id. */
  async request(name: string, args: unknown, times = 1): Promise<MessageId> {
    let id = this.ids.next();
    for (let i = 0; i < times; i++) {
      if (i > 0) id = this.ids.next();
      await this.send({ message_id: id, v: 3 }, name, args);
    }
    return id;
  }

  /** Grant the stream `id` credit for `n` more events. */
  grant(id: MessageId, n: number): Promise<void> {
    return this.send({ message_id: this.ids.next(), v: 3, response_to: id }, '_zpc_more', [n]);
  }

  private send(header: EventHeader, name: string, args: unknown): Promise<void> {
    return this.socket.send(['', Buffer.from(encodeEvent({ header, name, args }))]);
  }

  /** Read until nothing comes for `quietMs`: every event, heartbeats left out. */
  async readAll(quietMs = 500): Promise<ZEvent[]> {
    const events: ZEvent[] = [];
    this.socket.receiveTimeout = quietMs;
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return events;
      }
      const event = decodeEvent(frames[frames.length - 1]!);
      if (event.name !== '_zpc_hb') events.push(event);
    }
  }

  close(): void {
    this.socket.close();
  }
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/**
 * ZeroMQ's own pipe is kept to 16 messages here (the default 128 of 256 KiB
 * replies is 32 MiB): fewer replies fill it, the budget is met sooner.
 */
const SMALL_PIPE = { sendHighWaterMark: 16 };

async function serve(options: ServerOptions = {}) {
  const logger = quietLogger();
  const { server, endpoint } = await startServer({
    registry,
    logger,
    heartbeatMs: 60_000,
    socket: SMALL_PIPE,
    ...options,
  });
  open.push({ close: () => server.close({ graceMs: 0 }) });
  return { server, endpoint, logger };
}

function nonReader(endpoint: string): NonReader {
  const peer = new NonReader(endpoint);
  open.push(peer);
  return peer;
}

function reader(endpoint: string): RawClient {
  const client = new RawClient(endpoint);
  open.push(client);
  return client;
}

/** Poll `condition` every 20 ms; fail after `ms` (a hang guard, not a speed bound). */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function budgetErrors(events: ZEvent[]): string[] {
  return events
    .filter((event) => event.name === 'ERR' && (event.args as string[])[0] === 'SendBudgetError')
    .map((event) => (event.args as string[])[1]!);
}

test('a peer that never reads stops at its budget, is refused with SendBudgetError, and others are served', async () => {
  const { server, endpoint, logger } = await serve({
    sendBudget: { perPeerBytes: 4 * MiB, totalBytes: 64 * MiB },
  });
  const greedy = nonReader(endpoint);
  const calls = 200;
  await greedy.request('blob', [REPLY], calls);
  await until(() => server.stats.sendBudgetRefusals > 0, 'a refusal');

  // A well-behaved client meanwhile gets every answer.
  const good = reader(endpoint);
  for (let i = 0; i < 20; i++) {
    good.request('add', [i, 1]);
    expect(await good.nextReply()).toMatchObject({ name: 'OK', args: [i + 1] });
  }

  await until(() => server.stats.calls === calls + 20 && server.stats.running === 0, 'the calls');
  const stats = server.stats;
  // A reply is refused only when it does not fit: the backlog was within one reply of the budget.
  expect(stats.peakBytesWaiting).toBeGreaterThan(4 * MiB - REPLY);
  // Past it: only the small ERRs that tell the refused callers why.
  expect(stats.peakBytesWaiting).toBeLessThanOrEqual(4 * MiB + SMALL_EVENT_ALLOWANCE);
  expect(stats.bytesWaiting).toBeGreaterThan(0);
  expect(stats.calls).toBe(calls + 20);
  const warned = logger.lines.filter((line) => line.level === 'warn').map((l) => String(l.args));
  expect(warned.join('\n')).toMatch(
    /sendBudgetRefusals.*a reply of 262\d+ bytes was refused: \d+ bytes are waiting to be sent to peer [0-9a-f]+ .*over its per-peer budget \(4194304 bytes\)/,
  );

  // Once it reads: what was queued, then a small ERR for each refused call
  // (those past the allowance for small events are dropped and counted).
  const events = await greedy.readAll();
  const ok = events.filter((event) => event.name === 'OK');
  const refused = budgetErrors(events);
  expect(ok.length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]).toMatch(/over its per-peer budget \(4194304 bytes\)/);
  expect(ok.length + refused.length + server.stats.sendBudgetDrops).toBe(calls);
  expect(server.stats.sendBudgetRefusals).toBe(refused.length + server.stats.sendBudgetDrops);
  await until(() => server.stats.bytesWaiting === 0, 'the backlog to drain');
});

test('a flood of tiny replies never read is counted with what each message costs, and stops at the budget', async () => {
  const { server, endpoint } = await serve({
    sendBudget: { perPeerBytes: 1 * MiB, totalBytes: 64 * MiB },
  });
  const greedy = nonReader(endpoint);
  const calls = 5000;
  await greedy.request('add', [1, 2], calls);
  await until(() => server.stats.calls === calls && server.stats.running === 0, 'the calls');
  // 5000 replies of under 100 bytes are under 0.5 MB of payload: under the
  // budget but for the per-message overhead, which makes them about 1.7 MB.
  expect(server.stats.sendBudgetRefusals).toBeGreaterThan(0);
  expect(server.stats.peakBytesWaiting).toBeGreaterThan(1 * MiB - 2 * MESSAGE_OVERHEAD_BYTES);
  expect(server.stats.peakBytesWaiting).toBeLessThanOrEqual(1 * MiB + SMALL_EVENT_ALLOWANCE);
});

test('the total budget caps two peers that never read together', async () => {
  const { server, endpoint } = await serve({
    sendBudget: { perPeerBytes: 4 * MiB, totalBytes: 6 * MiB },
  });
  const first = nonReader(endpoint);
  await first.request('blob', [REPLY], 200);
  await until(() => server.stats.sendBudgetRefusals > 0, "the first peer's refusal");
  expect(server.stats.peakBytesWaiting).toBeLessThanOrEqual(4 * MiB + SMALL_EVENT_ALLOWANCE);

  const second = nonReader(endpoint);
  await second.request('blob', [REPLY], 200);
  await until(() => server.stats.calls === 400 && server.stats.running === 0, 'the calls');
  expect(server.stats.peakBytesWaiting).toBeGreaterThan(6 * MiB - REPLY);
  expect(server.stats.peakBytesWaiting).toBeLessThanOrEqual(6 * MiB + 2 * SMALL_EVENT_ALLOWANCE);

  const refused = budgetErrors(await second.readAll());
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]).toMatch(/over the total budget \(6291456 bytes\)/);
});

test('a peer that never reads and disconnects gives its bytes and its calls back at once', async () => {
  const { server, endpoint } = await serve({
    sendBudget: { perPeerBytes: 4 * MiB, totalBytes: 64 * MiB },
  });
  const greedy = nonReader(endpoint);
  await greedy.request('hold', []);
  await greedy.request('blob', [REPLY], 200);
  await until(() => server.stats.calls === 201 && server.stats.running === 1, 'the calls');
  expect(server.stats.sendBudgetRefusals).toBeGreaterThan(0);
  expect(server.stats.bytesWaiting).toBeGreaterThan(0);
  expect(server.stats.openChannels).toBe(1);

  greedy.close();
  // heartbeatMs is 60 s: the call is freed because a send found the peer
  // gone (EHOSTUNREACH), not because its heartbeats lapsed.
  await until(
    () => server.stats.bytesWaiting === 0 && server.stats.openChannels === 0,
    'the bytes and the call back',
  );
  expect(server.stats.lostRemotes).toBe(1);
  expect(server.stats.running).toBe(0);

  const good = reader(endpoint);
  good.request('add', [1, 2]);
  expect(await good.nextReply()).toMatchObject({ name: 'OK', args: [3] });
});

test('a stream whose item is refused ends with SendBudgetError', async () => {
  const { server, endpoint } = await serve({
    sendBudget: { perPeerBytes: 2 * MiB, totalBytes: 64 * MiB },
  });
  const greedy = nonReader(endpoint);
  // Credit for every item up front, then never a read.
  await greedy.grant(await greedy.request('blobs', [1000, 64 * KiB]), 999);
  await until(() => server.stats.sendBudgetRefusals === 1, 'the refusal');
  await until(() => server.stats.running === 0 && server.stats.openChannels === 0, 'the stream');
  const events = await greedy.readAll();
  const items = events.filter((event) => event.name === 'STREAM');
  expect(items.length).toBeGreaterThan(0);
  expect(items.length).toBeLessThan(1000);
  // Items in order, then the error: nothing after it.
  items.forEach((item, i) => {
    expect((item.args as Uint8Array)[0]).toBe(i % 256);
  });
  expect(events.at(-1)?.name).toBe('ERR');
  expect(budgetErrors(events)).toHaveLength(1);
});

test('a burst of replies larger than the high-water mark reaches a reading client whole and in order', async () => {
  const { server, endpoint } = await serve();
  const client = reader(endpoint);
  const id = client.request('blobs', [1500, 16 * KiB]);
  client.onChannel(id, '_zpc_more', [999]);
  await client.until(() => client.replies >= 500, 20_000, 'the first items');
  client.onChannel(id, '_zpc_more', [501]);
  await client.until(() => client.replies >= 1501, 20_000, 'every item');
  const events = client.received.map((r) => r.event).filter((e) => e.name !== '_zpc_hb');
  expect(events.at(-1)?.name).toBe('STREAM_DONE');
  events.slice(0, -1).forEach((event, i) => {
    expect(event.name).toBe('STREAM');
    expect((event.args as Uint8Array)[0]).toBe(i % 256);
  });
  expect(server.stats.sendBudgetRefusals).toBe(0);
  await until(() => server.stats.bytesWaiting === 0, 'nothing waiting');
});

test('close() with a peer that never reads ends, drops what waits and leaves no timer', async () => {
  const timersBefore = countTimers();
  const logger = quietLogger();
  const { server, endpoint } = await startServer({
    registry,
    logger,
    socket: SMALL_PIPE,
    sendBudget: { perPeerBytes: 4 * MiB, totalBytes: 64 * MiB },
  });
  const greedy = nonReader(endpoint);
  await greedy.request('blob', [REPLY], 200);
  await until(() => server.stats.calls === 200 && server.stats.running === 0, 'the calls');
  expect(server.stats.sendBudgetRefusals).toBeGreaterThan(0);
  expect(server.stats.bytesWaiting).toBeGreaterThan(0);
  await server.close({ graceMs: 0, drainMs: 200 });
  expect(server.stats.bytesWaiting).toBe(0);
  // Past the longest retry delay: a retry timer still going would show.
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(countTimers()).toBeLessThanOrEqual(timersBefore);
});

function countTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}
