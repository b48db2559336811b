import { Registry } from '@zrpc/core';
import { decodeEvent, encodeEvent, MessageIdGenerator } from '@zrpc/core/protocol';
import { afterEach, expect, test } from 'vitest';
import { Dealer } from 'zeromq';
import { deferred, RawClient, startServer, until } from './helpers.js';

/*
 * Fair shares, with real sockets: a greedy peer (a raw DEALER) against a
 * well-behaved one. Handlers are held open by the test, so nothing depends
 * on timing: the question is only who gets a slot while the others wait.
 */

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

function heldRegistry() {
  const registry = new Registry();
  const gates: Array<() => void> = [];
  const started: string[] = [];
  registry.register(async function hold(who: string) {
    started.push(who);
    const gate = deferred();
    gates.push(gate.resolve);
    await gate.promise;
    return who;
  });
  registry.register(function quick(who: string) {
    started.push(who);
    return who;
  });
  return { registry, gates, started };
}

/** Release held calls as they start until `done()`. */
async function releaseAll(gates: Array<() => void>, done: () => boolean): Promise<void> {
  await until(
    () => {
      for (const release of gates.splice(0)) release();
      return done();
    },
    5000,
    'the held calls to finish',
  );
}

async function serve(options: Parameters<typeof startServer>[0]) {
  const { server, endpoint } = await startServer(options);
  open.push({ close: () => server.close({ graceMs: 0 }) });
  return { server, endpoint };
}

function client(endpoint: string): RawClient {
  const c = new RawClient(endpoint);
  open.push(c);
  return c;
}

test('a peer holding every slot it may take leaves the reserve: another peer is answered at once', async () => {
  const { registry, gates, started } = heldRegistry();
  const { server, endpoint } = await serve({ registry, concurrency: 20, reservedSlots: 4 });
  const hog = client(endpoint);
  for (let i = 0; i < 100; i++) hog.request('hold', ['hog']);
  await hog.until(() => server.stats.running === 16 && server.stats.queued === 84, 5000);

  const good = client(endpoint);
  good.request('quick', ['good']);
  expect(await good.nextReply()).toMatchObject({ name: 'OK', args: ['good'] });
  // The greedy peer's calls are all still held: the good call did not wait for them.
  expect(started.filter((who) => who === 'hog')).toHaveLength(16);
  expect(server.stats).toMatchObject({ running: 16, queued: 84 });
  for (const release of gates.splice(0)) release();
});

test('a lone peer may use every slot but the reserve (work-conserving)', async () => {
  const { registry, gates } = heldRegistry();
  const { server, endpoint } = await serve({ registry, concurrency: 10, reservedSlots: 0 });
  const lone = client(endpoint);
  for (let i = 0; i < 12; i++) lone.request('hold', ['lone']);
  await lone.until(() => server.stats.running === 10 && server.stats.queued === 2, 5000);
  await releaseAll(gates, () => lone.replies === 12);
});

test('freed slots go to waiting peers in turn, not to the peer that asked most', async () => {
  const { registry, gates, started } = heldRegistry();
  const { server, endpoint } = await serve({ registry, concurrency: 2, reservedSlots: 0 });
  const hog = client(endpoint);
  for (let i = 0; i < 10; i++) hog.request('hold', ['hog']);
  await hog.until(() => server.stats.queued === 8, 5000);
  const good = client(endpoint);
  good.request('quick', ['good']);
  await good.until(() => server.stats.queued === 9, 5000);

  gates.shift()!(); // one hog call ends: its slot goes to the good peer, first in its turn
  expect(await good.nextReply()).toMatchObject({ name: 'OK', args: ['good'] });
  expect(started.slice(0, 3)).toEqual(['hog', 'hog', 'good']);
  await releaseAll(gates, () => hog.replies === 10);
});

test('a full queue pushes out the newest call of the longest queue, not the newcomer', async () => {
  const { registry, gates } = heldRegistry();
  const { server, endpoint } = await serve({
    registry,
    concurrency: 1,
    reservedSlots: 0,
    queueLimit: 3,
  });
  const hog = client(endpoint);
  const ids = [0, 1, 2, 3].map(() => hog.request('hold', ['hog']));
  await hog.until(() => server.stats.queued === 3, 5000);
  const good = client(endpoint);
  good.request('quick', ['good']);
  const refused = await hog.nextReply();
  expect(refused.name).toBe('ERR');
  expect((refused.args as string[])[0]).toBe('ServerBusyError');
  expect(Buffer.from(refused.header.response_to as Uint8Array)).toEqual(Buffer.from(ids[3]!));
  expect(server.stats.queued).toBe(3);
  // The good call is next after the running one (round-robin), not behind the hog's queue.
  gates.shift()!();
  expect(await good.nextReply()).toMatchObject({ name: 'OK', args: ['good'] });
  await releaseAll(gates, () => hog.replies === 4);
});

test('frames a peer adds before the delimiter do not make it another peer', async () => {
  const { registry, gates } = heldRegistry();
  const { server, endpoint } = await serve({ registry, maxChannelsPerPeer: 5 });
  const socket = new Dealer({ linger: 0 });
  open.push(socket);
  socket.connect(endpoint);
  const ids = new MessageIdGenerator();
  const replies: Array<{ frames: number; name: string; args: unknown }> = [];
  const reading = (async () => {
    for await (const frames of socket) {
      const event = decodeEvent(frames.at(-1)!);
      replies.push({ frames: frames.length, name: event.name, args: event.args });
    }
  })().catch(() => {});
  for (let i = 0; i < 10; i++) {
    const header = { message_id: ids.next(), v: 3 };
    const disguise = Buffer.from(`disguise-${i}-${Math.random()}`);
    await socket.send([
      disguise,
      Buffer.alloc(0),
      encodeEvent({ header, name: 'hold', args: ['x'] }),
    ]);
  }
  await until(() => replies.length >= 5, 5000, 'the refusals');
  expect(server.stats.openChannels).toBe(5);
  expect(server.stats.rejectedPeerLimit).toBe(5);
  // Refusals are routed back with the whole envelope the peer sent.
  expect(replies).toHaveLength(5);
  for (const reply of replies) {
    expect(reply.frames).toBe(3);
    expect((reply.args as string[])[0]).toBe('TooManyChannelsError');
  }
  for (const release of gates.splice(0)) release();
  socket.close();
  await reading;
});
