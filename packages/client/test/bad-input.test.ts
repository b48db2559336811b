import { type MessageId, ProtocolError } from '@zrpc/core';
import { decodeEvent, encodeEvent, type ZEvent } from '@zrpc/core/protocol';
import { rejection, until } from '@zrpc/testkit';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { Router } from 'zeromq';
import { Client, type RemoteError, RemoteStream } from '../src/index.js';

// A raw ROUTER plays a misbehaving server, byte by byte. `mandatory`: a
// send waits while the client's pipe is full (its high-water mark, 1000
// messages) instead of being dropped, so what a test sends is what the
// client receives, however slowly this process reads.
let router: Router;
let client: Client;

beforeEach(async () => {
  router = new Router({ linger: 0, mandatory: true });
  await router.bind('tcp://127.0.0.1:*');
  client = new Client({ endpoints: router.lastEndpoint!, timeoutMs: 5000 });
});

afterEach(async () => {
  await client.close();
  router.close();
});

interface Request {
  identity: Buffer;
  event: ZEvent;
}

async function nextRequest(): Promise<Request> {
  const [identity, , payload] = await router.receive();
  return { identity: identity!, event: decodeEvent(new Uint8Array(payload!)) };
}

let serverIds = 0;
function event(name: string, args: unknown, responseTo?: MessageId): Uint8Array {
  const header = { message_id: `server-${serverIds++}`, v: 3, response_to: responseTo };
  if (responseTo === undefined) delete header.response_to;
  return encodeEvent({ header, name, args });
}

async function send(to: Request, ...payloads: Array<Uint8Array | string>): Promise<void> {
  for (const payload of payloads) await router.send([to.identity, '', payload]);
}

const replyTo = (request: Request, name: string, args: unknown) =>
  event(name, args, request.event.header.message_id);

test('garbage and events for no open channel are dropped and counted; the call goes on', async () => {
  const pending = client.call('add', 1, 2);
  const request = await nextRequest();
  await send(
    request,
    'not msgpack \xc1',
    event('OK', [1], new Uint8Array(32)), // an id nobody used
    event('OK', [1], 'x'.repeat(32)), // same bytes as str: still not ours
    event('OK', [1]), // no response_to at all
    encodeEvent({ header: { message_id: 1 } as never, name: 'OK', args: [] }), // no usable id
    replyTo(request, '_zpc_hb', [0]),
    replyTo(request, 'OK', [3]),
  );
  await router.send([request.identity, '']); // a message without payload
  expect(await pending).toBe(3);
  await until(() => client.droppedEvents === 6);
  expect(client.openChannels).toBe(0);
});

test('an unexpected reply is a ProtocolError and frees the channel', async () => {
  const pending = rejection(client.call('add', 1, 2));
  const request = await nextRequest();
  await send(request, replyTo(request, 'HELLO', []));
  const error = await pending;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.message).toBe('unexpected HELLO reply to add');
  expect(client.openChannels).toBe(0);
});

test('an ERR with odd args still becomes a readable RemoteError', async () => {
  const calls = [client.call('a'), client.call('b'), client.call('c')].map(rejection);
  const requests = [await nextRequest(), await nextRequest(), await nextRequest()];
  const byName = (name: string) => requests.find((r) => r.event.name === name)!;
  await send(byName('a'), replyTo(byName('a'), 'ERR', 'not a list'));
  await send(byName('b'), replyTo(byName('b'), 'ERR', [new TextEncoder().encode('OldError'), 42]));
  await send(byName('c'), replyTo(byName('c'), 'ERR', ['', null, null]));
  const [a, b, c] = (await Promise.all(calls)) as RemoteError[];
  expect([a!.remoteName, a!.remoteMessage]).toEqual(['RemoteError', '']);
  expect([b!.remoteName, b!.remoteMessage, b!.traceback]).toEqual(['OldError', '42', '']);
  expect([c!.remoteName, c!.message]).toEqual(['RemoteError', 'RemoteError']);
  expect(client.openChannels).toBe(0);
});

// The stream is refused for a protocol violation: its unread items are
// dropped and the next read throws (see "Streams" in the README).
test('a server streaming past its credit gets a ProtocolError; other calls are undisturbed', async () => {
  const stream = client.call('flood');
  // The router never heart-beats: give the other call room for a slow
  // machine, so that it cannot time out or be declared lost while the flood
  // is still arriving (these are hang guards, not what is tested).
  const other = client.withOptions({ timeoutMs: 60_000, heartbeatMs: 30_000 }).call('add', 1, 2);
  const requests = [await nextRequest(), await nextRequest()];
  const flood = requests.find((r) => r.event.name === 'flood')!;
  const add = requests.find((r) => r.event.name === 'add')!;
  // One more than the default window (1000) grants, and then some.
  const items = Array.from({ length: 1050 }, (_, i) => replyTo(flood, 'STREAM', i));
  await send(flood, ...items);
  const reply = (await stream) as RemoteStream;
  expect(reply).toBeInstanceOf(RemoteStream);
  // Wait for this stream's own ending, not for some call to end: the
  // refusal, with nothing read yet.
  await reply.ended;
  expect(client.openChannels).toBe(1);
  const error = await rejection(reply.next());
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.message).toBe('the server streamed more events than it was granted');
  expect(await reply.next()).toEqual({ done: true, value: undefined });
  await send(add, replyTo(add, 'OK', [3]));
  expect(await other).toBe(3);
  expect(client.openChannels).toBe(0);
});

test('arguments that cannot be encoded fail with a TypeError; nothing is sent or leaked', async () => {
  for (const bad of [() => 1, 2n ** 64n, Symbol('s')]) {
    const error = await rejection(client.call('echo', bad));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^cannot encode the request for echo: /);
  }
  expect(client.openChannels).toBe(0);
  const next = client.call('add', 1, 2);
  const request = await nextRequest();
  expect([request.event.name, request.event.args]).toEqual(['add', [1, 2]]);
  await send(request, replyTo(request, 'OK', [3]));
  expect(await next).toBe(3);
});

test('task context cannot override the protocol header keys', async () => {
  const sneaky = new Client({
    endpoints: router.lastEndpoint!,
    middleware: [
      async (ctx, next) => {
        Object.assign(ctx.taskContext, { message_id: 'forged', v: 99, response_to: 'x', trace: 1 });
        await next();
      },
    ],
  });
  try {
    const pending = sneaky.call('add', 1, 2);
    const request = await nextRequest();
    expect(request.event.header.message_id).toBeInstanceOf(Uint8Array);
    expect(request.event.header.v).toBe(3);
    expect(request.event.header.response_to).toBeUndefined();
    expect(request.event.header.trace).toBe(1);
    await send(request, replyTo(request, 'OK', [3]));
    expect(await pending).toBe(3);
  } finally {
    await sneaky.close();
  }
});

test('bad options are refused with a RangeError', async () => {
  expect(() => new Client({ timeoutMs: 0 })).toThrow(RangeError);
  // Longer than a Node timer can wait (it would fire at once).
  expect(() => new Client({ timeoutMs: 2 ** 31 })).toThrow(RangeError);
  expect(() => new Client({ heartbeatMs: Number.NaN })).toThrow(
    'heartbeatMs must be a positive number of milliseconds up to 2147483647, got NaN',
  );
  const error = await rejection(client.withOptions({ timeoutMs: -5 }).call('add', 1, 2));
  expect(error).toBeInstanceOf(RangeError);
  expect(client.openChannels).toBe(0);
  expect(() => new Client({ endpoints: 'tcp://nowhere' })).toThrow(
    new TypeError('invalid endpoint "tcp://nowhere": Invalid argument'),
  );
});
