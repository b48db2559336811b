import { Registry } from '@zrpc/core';
import { encodeValue } from '@zrpc/core/protocol';
import { closeServer, FakeClock } from '@zrpc/testkit';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { BAD_INPUT_LOG_INTERVAL_MS } from '../src/bad-input-log.js';
import type { Server } from '../src/index.js';
import { deferred, quietLogger, RawClient, startServer } from './helpers.js';

const EMPTY = Buffer.alloc(0);
const payload = (value: unknown) => Buffer.from(encodeValue(value));

let server: Server;
let logger: ReturnType<typeof quietLogger>;
let client: RawClient;
let other: RawClient;
let release: ReturnType<typeof deferred<void>>;

beforeEach(async () => {
  const registry = new Registry();
  release = deferred();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  registry.register(async function hold() {
    await release.promise;
    return 'held';
  });
  logger = quietLogger();
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry, logger, maxChannelsPerPeer: 3 }));
  client = new RawClient(endpoint);
  other = new RawClient(endpoint);
});

afterEach(async () => {
  release.resolve();
  await Promise.all([client.close(), other.close()]);
  await server.close({ graceMs: 0 });
});

/** The server still answers a well-behaved client. */
async function stillServing() {
  other.request('add', [20, 22]);
  expect(await other.nextReply()).toMatchObject({ name: 'OK', args: [42] });
}

test('frames that are no event are counted as badFrames and ignored', async () => {
  const garbage: Buffer[][] = [
    [EMPTY], // an empty message
    [EMPTY, EMPTY], // an empty payload
    [EMPTY, Buffer.from([0xc1])], // not msgpack
    [EMPTY, Buffer.from([0x93, 0x80])], // an array cut short
    [EMPTY, payload('just a string')],
    [EMPTY, payload([{ message_id: 'x' }, 'add'])], // two items
    [EMPTY, payload([['not', 'a map'], 'add', []])],
    [EMPTY, payload([{ message_id: 'x' }, 42, []])], // name not a str
    [EMPTY, payload([{ v: 3 }, 'add', [1, 2]])], // no message_id
    [EMPTY, payload([{ message_id: 7 }, 'add', [1, 2]])], // id neither bin nor str
    [EMPTY, payload([{ message_id: 'x', response_to: 1 }, 'add', []])],
  ];
  for (const frames of garbage) client.sendFrames(frames);
  await client.until(() => server.stats.badFrames === garbage.length, 5000, 'all counted');
  await stillServing();
  expect(client.received).toHaveLength(0);
  expect(server.stats).toMatchObject({ badFrames: garbage.length, calls: 1, openChannels: 0 });
});

test('events that make no sense are counted: stray control events, unknown channels, reused ids, requests on a channel', async () => {
  client.sendEvent({ message_id: 'hb', v: 3 }, '_zpc_hb', [0]);
  client.sendEvent({ message_id: 'more', v: 3 }, '_zpc_more', [10]);
  client.onChannel('never-opened', '_zpc_hb', [0]);
  await client.until(
    () => server.stats.badEvents === 2 && server.stats.unroutable === 1,
    5000,
    'the first counts',
  );

  const id = client.request('hold', []);
  client.request('hold', [], { message_id: id }); // same id while open
  client.onChannel(id, 'add', [1, 2]); // an application event on an open channel
  await client.until(() => server.stats.badEvents === 4, 5000, 'the reused id');
  release.resolve();
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: ['held'] });
  await stillServing();
  expect(client.replies).toBe(1);
  expect(server.stats.openChannels).toBe(0);
});

test('a flood of channels from one peer is capped (maxChannelsPerPeer); other peers are served', async () => {
  for (let i = 0; i < 3; i++) client.request('hold', []);
  client.request('hold', []);
  const refused = await client.nextReply();
  expect(refused.name).toBe('ERR');
  expect((refused.args as string[]).slice(0, 2)).toEqual([
    'TooManyChannelsError',
    'too many open calls from one client (limit 3)',
  ]);
  expect(server.stats).toMatchObject({ rejectedPeerLimit: 1, openChannels: 3 });

  await stillServing();
  release.resolve();
  await client.until(() => client.replies === 4, 5000, 'the held calls');
  expect(server.stats.openChannels).toBe(0);
});

test('bad input is logged once, then summed up, never once per frame', async () => {
  for (let i = 0; i < 500; i++) client.sendFrames([EMPTY, Buffer.from([0xc1, i & 0xff])]);
  await client.until(() => server.stats.badFrames === 500, 5000, 'all counted');
  expect(logger.lines).toHaveLength(1);
  expect(logger.lines[0]!.args[0]).toMatch(
    /ignored bad input: 1 badFrames \(last: invalid msgpack/,
  );

  await server.close({ graceMs: 0 });
  expect(logger.lines).toHaveLength(2);
  expect(logger.lines[1]!.args[0]).toMatch(/ignored bad input: 499 badFrames/);
});

test('bad input arriving meanwhile is summed up once the interval has passed since the last line', async () => {
  const clock = new FakeClock();
  const log = quietLogger();
  const open = await startServer({ registry: new Registry(), logger: log, clock });
  const flooder = new RawClient(open.endpoint);
  try {
    for (let i = 0; i < 10; i++) flooder.sendFrames([EMPTY, Buffer.from([0xc1, i])]);
    await flooder.until(() => open.server.stats.badFrames === 10, 5000, 'all counted');
    expect(log.lines).toHaveLength(1);
    clock.advance(BAD_INPUT_LOG_INTERVAL_MS - 1);
    expect(log.lines).toHaveLength(1);
    clock.advance(1);
    expect(log.lines).toHaveLength(2);
    expect(log.lines[1]!.args[0]).toMatch(/ignored bad input: 9 badFrames/);
  } finally {
    await flooder.close();
    await closeServer(open.server, clock);
  }
});

test('a heartbeat crossing the final reply is counted, not logged; a stray application event is logged', async () => {
  const id = client.request('add', [1, 2]);
  await client.nextReply();
  client.onChannel(id, '_zpc_hb', [0]);
  await client.until(() => server.stats.unroutable === 1, 5000, 'the late heartbeat');
  // The call's own line (info), and nothing about the heartbeat.
  const warnings = () => logger.lines.filter((line) => line.level === 'warn');
  expect(warnings()).toHaveLength(0);

  client.onChannel(id, 'STREAM', 'what?');
  await client.until(() => server.stats.unroutable === 2, 5000, 'the stray event');
  expect(warnings()).toHaveLength(1);
  expect(warnings()[0]!.args[0]).toMatch(
    /1 unroutable \(last: a STREAM event for no open channel\)/,
  );
});
