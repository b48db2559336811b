// The envelope of what the server sends: the reference's (routing frames,
// the empty delimiter, the payload) to any client, without the delimiter to
// a zrpc client (its request said `zrpc_hb`), and to a zrpc client several
// events in one message when it has several for it at once: docs/EXTENSIONS.md.
import { Registry } from '@zrpc/core';
import {
  BATCH_BYTES,
  BATCH_EVENTS,
  BATCH_MARKER,
  decodeEvent,
  encodeEvent,
  MessageIdGenerator,
} from '@zrpc/core/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { startServer } from './helpers.js';

const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});

// Calls that all answer at once: each waits for the gate, which opens when
// `gated.expected` calls are waiting, so that their replies are ready together.
const gate = { waiting: 0, expected: 0, open: () => {} };
let opened = new Promise<void>((resolve) => {
  gate.open = resolve;
});
function resetGate(expected: number): void {
  gate.waiting = 0;
  gate.expected = expected;
  opened = new Promise<void>((resolve) => {
    gate.open = resolve;
  });
}
registry.register(async function gated(i: number, size: number) {
  if (++gate.waiting === gate.expected) gate.open();
  await opened;
  return size > 0 ? 'x'.repeat(size) : i + 1;
});

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A raw DEALER connected to a server of `registry` (both closed after the test). */
async function dealerToServer(): Promise<Dealer> {
  const { server, endpoint } = await startServer({ registry });
  open.push({ close: () => server.close({ graceMs: 0 }) });
  const socket = new Dealer({ linger: 0, receiveTimeout: 5000 });
  socket.connect(endpoint);
  open.push(socket);
  return socket;
}

/** Send one request and answer its reply's frames, as a DEALER reads them. */
async function replyFrames(
  header: Record<string, unknown>,
  name = 'add',
  unreadableArgs = false,
): Promise<Buffer[]> {
  const socket = await dealerToServer();
  const ids = new MessageIdGenerator();
  const request = Buffer.from(
    encodeEvent({
      header: { message_id: ids.next(), v: 3, ...header },
      name,
      args: unreadableArgs ? null : [1, 2],
    }),
  );
  // nil, the last byte, becomes 0xc1: a byte msgpack never uses.
  if (unreadableArgs) request[request.length - 1] = 0xc1;
  await socket.send(['', request]);
  return socket.receive();
}

describe('the envelope of a reply', () => {
  it('to a client that said nothing of itself (a reference client): the empty delimiter, then the payload', async () => {
    const frames = await replyFrames({});
    expect(frames.map((frame) => frame.length === 0)).toEqual([true, false]);
    const reply = decodeEvent(frames[1]!);
    expect(reply).toMatchObject({ name: 'OK', args: [3] });
    // zerorpc-python's shape of id: 32 hex bytes.
    expect(reply.header.message_id).toEqual(expect.any(Uint8Array));
    expect(reply.header.message_id).toHaveLength(32);
  });

  it('to a zrpc client (its request said zrpc_hb): the payload alone, with a short id', async () => {
    const frames = await replyFrames({ zrpc_hb: 5000 });
    expect(frames).toHaveLength(1);
    const reply = decodeEvent(frames[0]!);
    expect(reply).toMatchObject({ name: 'OK', args: [3] });
    // 8 hex bytes: small replies stay within zeromq.js's copy threshold (EXTENSIONS.md).
    expect(Buffer.from(reply.header.message_id as Uint8Array).toString()).toMatch(/^[0-9a-f]{8}$/);
    expect(frames[0]!.length).toBeLessThanOrEqual(128);
  });

  it('an unknown method, and a request refused before it is a call, are enveloped the same way', async () => {
    const [reference, zrpc] = [
      await replyFrames({}, 'nope'),
      await replyFrames({ zrpc_hb: 5000 }, 'nope'),
    ];
    expect(reference).toHaveLength(2);
    expect(zrpc).toHaveLength(1);
    expect(decodeEvent(reference[1]!).header.message_id).toHaveLength(32);
    expect(decodeEvent(zrpc[0]!).header.message_id).toHaveLength(8);
    expect((decodeEvent(zrpc[0]!).args as string[]).slice(0, 2)).toEqual(['NameError', 'nope']);
    // Arguments that cannot be decoded: the dispatcher answers ProtocolError itself.
    const unreadable = await replyFrames({ zrpc_hb: 5000 }, 'add', true);
    expect(unreadable).toHaveLength(1);
    expect(decodeEvent(unreadable[0]!).header.message_id).toHaveLength(8);
    expect((decodeEvent(unreadable[0]!).args as string[])[0]).toBe('ProtocolError');
  });

  it('a request without the delimiter is read as well', async () => {
    const socket = await dealerToServer();
    const ids = new MessageIdGenerator();
    const header = { message_id: ids.next(), v: 3, zrpc_hb: 5000 };
    await socket.send(Buffer.from(encodeEvent({ header, name: 'add', args: [2, 3] })));
    const frames = await socket.receive();
    expect(decodeEvent(frames.at(-1)!)).toMatchObject({ name: 'OK', args: [5] });
  });
});

describe('several events in one message', () => {
  /**
   * Send `count` gated requests (with `zrpc_hb` when `zrpc`) and read the
   * messages until every reply came: the frames of each message.
   */
  async function gatedReplies(count: number, zrpc: boolean, size = 0): Promise<Buffer[][]> {
    resetGate(count);
    const socket = await dealerToServer();
    const ids = new MessageIdGenerator();
    for (let i = 0; i < count; i++) {
      const header = { message_id: ids.next(), v: 3, ...(zrpc ? { zrpc_hb: 5000 } : {}) };
      await socket.send(['', Buffer.from(encodeEvent({ header, name: 'gated', args: [i, size] }))]);
    }
    const messages: Buffer[][] = [];
    let events = 0;
    while (events < count) {
      const frames = await socket.receive();
      messages.push(frames);
      events += zrpc ? frames.length : 1;
    }
    return messages;
  }

  it('to a zrpc client: replies ready together go in few messages, a frame each, every one of them', async () => {
    const messages = await gatedReplies(200, true);
    const replies = messages.flat().map((frame) => decodeEvent(frame));
    expect(replies.map((reply) => reply.name)).toEqual(Array(200).fill('OK'));
    const results = replies.map((reply) => (reply.args as number[])[0]).sort((a, b) => a! - b!);
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // A routed call's reply has a short id too, and no two ids are the same.
    const ids = replies.map((reply) =>
      Buffer.from(reply.header.message_id as Uint8Array).toString(),
    );
    expect(ids.every((id) => /^[0-9a-f]{8}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(200);
    // At most BATCH_EVENTS a message, and far fewer messages than replies.
    expect(Math.max(...messages.map((frames) => frames.length))).toBeLessThanOrEqual(BATCH_EVENTS);
    expect(messages.length).toBeLessThan(20);
  });

  it('to a reference client: one event a message, after the delimiter, however many are ready', async () => {
    const messages = await gatedReplies(100, false);
    for (const frames of messages) {
      expect(frames.map((frame) => frame.length === 0)).toEqual([true, false]);
    }
    expect(messages).toHaveLength(100);
  });

  it('replies too big to share a message go one a message', async () => {
    const size = Math.ceil(BATCH_BYTES * 0.6);
    const messages = await gatedReplies(10, true, size);
    expect(messages.map((frames) => frames.length)).toEqual(Array(10).fill(1));
    for (const [frame] of messages) expect(decodeEvent(frame!).args).toEqual(['x'.repeat(size)]);
  });
});

describe('several requests in one message, from a zrpc client', () => {
  /** The replies to the requests `frames` carry, read until `count` came. */
  async function repliesTo(frames: Array<Buffer | string>, count: number) {
    const socket = await dealerToServer();
    await socket.send(frames);
    const replies = [];
    while (replies.length < count) {
      for (const frame of await socket.receive()) replies.push(decodeEvent(frame));
    }
    return replies;
  }

  const ids = new MessageIdGenerator();
  const add = (a: number, b: number) =>
    Buffer.from(
      encodeEvent({
        header: { message_id: ids.next(), v: 3, zrpc_hb: 5000 },
        name: 'add',
        args: [a, b],
      }),
    );

  it('the marker, then a request a frame: each is a call of its own', async () => {
    const replies = await repliesTo([BATCH_MARKER, add(1, 1), add(2, 2), add(3, 3)], 3);
    expect(replies.map((reply) => reply.args)).toEqual([[2], [4], [6]]);
  });

  it('an empty or unreadable frame among them is bad input: the others are answered', async () => {
    const garbage = Buffer.from([0xc1]);
    const { server, endpoint } = await startServer({ registry });
    open.push({ close: () => server.close({ graceMs: 0 }) });
    const socket = new Dealer({ linger: 0, receiveTimeout: 5000 });
    socket.connect(endpoint);
    open.push(socket);
    await socket.send([BATCH_MARKER, add(1, 2), '', garbage, add(5, 5)]);
    const replies = [];
    while (replies.length < 2) {
      for (const frame of await socket.receive()) replies.push(decodeEvent(frame));
    }
    expect(replies.map((reply) => reply.args)).toEqual([[3], [10]]);
    expect(server.stats.badFrames + server.stats.badEvents).toBeGreaterThanOrEqual(2);
  });

  it('more events than a zrpc client ever sends in one message are dropped whole, and the peer is still served', async () => {
    const { server, endpoint } = await startServer({ registry });
    open.push({ close: () => server.close({ graceMs: 0 }) });
    const socket = new Dealer({ linger: 0, receiveTimeout: 5000 });
    socket.connect(endpoint);
    open.push(socket);
    const tooMany = Array.from({ length: BATCH_EVENTS + 1 }, () => add(1, 1));
    await socket.send([BATCH_MARKER, ...tooMany]);
    await socket.send([BATCH_MARKER, add(2, 2), add(3, 3)]);
    const replies = [];
    while (replies.length < 2) {
      for (const frame of await socket.receive()) replies.push(decodeEvent(frame));
    }
    // Only the second message's replies: none of the first's came before them.
    expect(replies.map((reply) => reply.args)).toEqual([[4], [6]]);
    expect(server.stats.calls).toBe(2);
  });
});
