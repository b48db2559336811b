// The envelope of the client's messages: the reference's (the empty
// delimiter, then the payload) until the server has said it speaks zrpc
// (`zrpc_hb`), then the payload alone (docs/EXTENSIONS.md); and how it
// reads a server's messages: several events a message from a zrpc server.
import { TimeoutError } from '@zrpc/core';
import {
  BATCH_EVENTS,
  BATCH_MARKER,
  batchStart,
  channelHeader,
  decodeEvent,
  encodeEvent,
  type ZEvent,
} from '@zrpc/core/protocol';
import { afterEach, expect, test } from 'vitest';
import { Router } from 'zeromq';
import { Client } from '../src/index.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/**
 * A ROUTER that answers each request with OK, saying `zrpc_hb` or not, and
 * records how many frames each request came in (routing id included).
 */
async function server(advertise: boolean) {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  open.push(router);
  const frameCounts: number[] = [];
  void (async () => {
    for await (const frames of router) {
      frameCounts.push(frames.length);
      const request: ZEvent = decodeEvent(frames.at(-1)!);
      const header = channelHeader(new Uint8Array(32).fill(0x61), request.header.message_id);
      if (advertise) header.zrpc_hb = 5000;
      const reply = encodeEvent({ header, name: 'OK', args: [request.args] });
      await router.send([frames[0]!, '', Buffer.from(reply)]);
    }
  })().catch(() => {});
  return { endpoint: router.lastEndpoint!, frameCounts };
}

function client(endpoint: string): Client {
  const made = new Client({ endpoints: endpoint });
  open.push(made);
  return made;
}

test('to a server that never says zrpc_hb (a reference server), every request has the delimiter', async () => {
  const { endpoint, frameCounts } = await server(false);
  const c = client(endpoint);
  for (let i = 0; i < 3; i++) expect(await c.call('echo', i)).toEqual([i]);
  expect(frameCounts).toEqual([3, 3, 3]);
});

test('once the server said zrpc_hb, requests come without it', async () => {
  const { endpoint, frameCounts } = await server(true);
  const c = client(endpoint);
  for (let i = 0; i < 3; i++) expect(await c.call('echo', i)).toEqual([i]);
  expect(frameCounts).toEqual([3, 2, 2]);
});

/** A ROUTER that holds the first `count` requests, then answers them all in one message built by `frames`. */
async function batchingServer(
  count: number,
  frames: (replies: Buffer[]) => Array<Buffer | string>,
) {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  open.push(router);
  void (async () => {
    const replies: Buffer[] = [];
    for await (const request of router) {
      const event: ZEvent = decodeEvent(request.at(-1)!);
      const header = channelHeader(new Uint8Array(32).fill(0x61), event.header.message_id);
      header.zrpc_hb = 5000;
      replies.push(Buffer.from(encodeEvent({ header, name: 'OK', args: [event.args] })));
      if (replies.length === count) await router.send([request[0]!, ...frames(replies)]);
    }
  })().catch(() => {});
  return router.lastEndpoint!;
}

test('a message of several events without the delimiter (a zrpc server batching): each frame is a reply', async () => {
  const c = client(await batchingServer(5, (replies) => replies));
  const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => c.call('echo', i)));
  expect(answers).toEqual([[0], [1], [2], [3], [4]]);
});

test('a message with the delimiter is read the reference way: only its last frame is an event', async () => {
  // The first reply sits before the delimiter, where a reference peer keeps routing frames.
  const c = client(await batchingServer(2, ([first, second]) => [first!, '', second!]));
  const calls = [c.withOptions({ timeoutMs: 300 }).call('echo', 0), c.call('echo', 1)];
  await expect(calls[1]).resolves.toEqual([1]);
  await expect(calls[0]).rejects.toBeInstanceOf(TimeoutError);
});

test('to a zrpc server, calls made together go in few messages: the marker, then a request a frame', async () => {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  open.push(router);
  const messages: Buffer[][] = [];
  void (async () => {
    for await (const frames of router) {
      messages.push(frames);
      const start = batchStart(frames);
      const payloads = start > 0 ? frames.slice(start) : [frames.at(-1)!];
      for (const payload of payloads) {
        const request: ZEvent = decodeEvent(payload);
        const header = channelHeader(new Uint8Array(32).fill(0x61), request.header.message_id);
        header.zrpc_hb = 5000;
        const reply = Buffer.from(encodeEvent({ header, name: 'OK', args: [request.args] }));
        await router.send([frames[0]!, reply]);
      }
    }
  })().catch(() => {});
  const c = client(router.lastEndpoint!);
  expect(await c.call('echo', -1)).toEqual([-1]); // the server says zrpc_hb
  const count = 200;
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => c.call('echo', i)));
  expect(answers).toEqual(Array.from({ length: count }, (_, i) => [i]));
  const batches = messages.slice(1);
  for (const frames of batches) {
    if (frames.length > 2) expect(frames[1]).toEqual(BATCH_MARKER);
    expect(frames.length).toBeLessThanOrEqual(BATCH_EVENTS + 2);
  }
  expect(batches.length).toBeLessThan(count / 4);
});

test('more events in one message than a zrpc server ever sends are dropped whole', async () => {
  const count = BATCH_EVENTS + 1;
  const c = client(await batchingServer(count, (replies) => replies)).withOptions({
    timeoutMs: 500,
  });
  const calls = Array.from({ length: count }, (_, i) => c.call('echo', i));
  const settled = await Promise.allSettled(calls);
  expect(settled.every((result) => result.status === 'rejected')).toBe(true);
  for (const result of settled) {
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
  }
});
