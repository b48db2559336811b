import { currentCall, Registry } from '@zrpc/core';
import { barrier } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import type { Server } from '../src/index.js';
import { RawClient, readStream, startServer } from './helpers.js';

let server: Server | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.close({ graceMs: 0 });
  server = undefined;
});

/** `together` calls of `slowPeer` answer only once all of them run at once. */
function registry(together: number): Registry {
  const overlap = barrier(together);
  const methods = new Registry();
  methods.register(function whoami() {
    return currentCall()!.peer;
  });
  methods.register(async function slowPeer() {
    const peer = currentCall()!.peer;
    await overlap.arrive();
    return peer;
  });
  methods.register(
    function* count(n: number) {
      for (let i = 0; i < n; i++) yield i;
    },
    { stream: true },
  );
  return methods;
}

async function connect(
  routingIds: Array<string | Buffer | undefined>,
  together = routingIds.length,
): Promise<RawClient[]> {
  const started = await startServer({ registry: registry(together) });
  server = started.server;
  for (const routingId of routingIds) clients.push(new RawClient(started.endpoint, { routingId }));
  return clients;
}

const hex = (text: string) => Buffer.from(text, 'latin1').toString('hex');

test('ctx.peer is the routing identity in hex, ZeroMQ-made or chosen by the client', async () => {
  const [made, chosen] = await connect([undefined, 'alpha']);
  made!.request('whoami', []);
  chosen!.request('whoami', []);
  // ZeroMQ makes 5-byte ids: a zero byte, then a 32-bit counter.
  expect((await made!.nextReply()).args).toEqual([expect.stringMatching(/^00[0-9a-f]{8}$/)]);
  expect((await chosen!.nextReply()).args).toEqual([hex('alpha')]);
});

test('two peers may use the same channel id at once, whatever their kind of identity', async () => {
  const peers = await connect([undefined, 'alpha', undefined, 'beta']);
  const id = peers[0]!.ids.next();
  for (const peer of peers) peer.request('slowPeer', [], { message_id: id });
  const answers = await Promise.all(peers.map((peer) => peer.nextReply()));
  expect(answers.map((event) => event.name)).toEqual(['OK', 'OK', 'OK', 'OK']);
  const seen = answers.map((event) => (event.args as [string])[0]);
  expect(new Set(seen).size).toBe(4);
  expect(seen[1]).toBe(hex('alpha'));
  expect(seen[3]).toBe(hex('beta'));
  expect(server!.stats.openChannels).toBe(0);
});

test('credit reaches the stream of each peer, whatever its kind of identity', async () => {
  const peers = await connect([undefined, 'gamma']);
  const reads = peers.map((peer) => readStream(peer, peer.request('count', [250]) as Uint8Array));
  for (const read of await Promise.all(reads)) {
    expect(read.items).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(read.final.name).toBe('STREAM_DONE');
    expect(read.maxOverrun).toBeLessThanOrEqual(0);
  }
});

test('a chosen identity that differs from a ZeroMQ-made one only in its first byte is another peer', async () => {
  const [made] = await connect([undefined], 2);
  made!.request('whoami', []);
  const madeHex = (await made!.nextReply()).args as [string];
  // ZeroMQ refuses chosen ids starting with a zero byte; 0x01 + the same counter is allowed.
  const lookalike = Buffer.from(`01${madeHex[0].slice(2)}`, 'hex');
  const twin = new RawClient(server!.endpoints[0]!, { routingId: lookalike });
  clients.push(twin);
  const id = made!.ids.next();
  made!.request('slowPeer', [], { message_id: id });
  twin.request('slowPeer', [], { message_id: id });
  const answers = await Promise.all([made!.nextReply(), twin.nextReply()]);
  expect(answers.map((event) => event.name)).toEqual(['OK', 'OK']);
  expect(answers.map((event) => (event.args as [string])[0])).toEqual([
    madeHex[0],
    `01${madeHex[0].slice(2)}`,
  ]);
});
