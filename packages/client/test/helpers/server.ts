import {
  channelHeader,
  decodeEvent,
  encodeEvent,
  MessageIdGenerator,
  openEnvelope,
} from '@zrpc/core/protocol';
import { Server, type ServerOptions } from '@zrpc/server';
import { afterAll, beforeAll } from 'vitest';
import { Router } from 'zeromq';
import { registry } from '../fixtures/provider.js';

/** A quiet in-process `@zrpc/server` for the provider fixture, bound to a free port. */
export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ registry, name: 'provider', logger: silent, ...options });
  await server.bind('tcp://127.0.0.1:*');
  return { server, endpoint: server.endpoints[0]! };
}

const silent = { info() {}, warn() {}, error() {} };

/**
 * One provider server for a whole test file: started before its tests and
 * closed after them. Read `endpoint` and `server` inside tests (they are set
 * once the file's `beforeAll` has run).
 */
export function providerPerFile(options: ServerOptions): { server: Server; endpoint: string } {
  const running = {} as { server: Server; endpoint: string };
  beforeAll(async () => {
    Object.assign(running, await startServer(options));
  });
  afterAll(() => running.server.close({ graceMs: 0 }));
  return running;
}

/** Every item of a stream, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A server that answers `add` and `_zerorpc_ping` and goes silent on any
 * other call (no reply, no heartbeat): how a hung server looks to a client.
 */
export async function silentServer(): Promise<{ endpoint: string; close(): void }> {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    for await (const frames of router) {
      const envelope = openEnvelope(frames)!;
      const request = decodeEvent(envelope.payload);
      if (request.header.response_to !== undefined) continue;
      let result: unknown;
      if (request.name === 'add') {
        const [a, b] = request.args as number[];
        result = a! + b!;
      } else if (request.name === '_zerorpc_ping') result = ['pong', 'silent'];
      else continue;
      const header = channelHeader(ids.next(), request.header.message_id);
      const reply = encodeEvent({ header, name: 'OK', args: [result] });
      await router.send([...envelope.identity, Buffer.alloc(0), reply]);
    }
  })().catch(() => {});
  return { endpoint: router.lastEndpoint!, close: () => router.close() };
}

const ids = new MessageIdGenerator();
