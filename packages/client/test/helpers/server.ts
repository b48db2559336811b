import {
  channelHeader,
  decodeEvent,
  encodeEvent,
  MessageIdGenerator,
  openEnvelope,
} from '@zrpc/core/protocol';
import { Server, type ServerOptions } from '@zrpc/server';
import { quietLogger, serverPerFile, startServer as startBound } from '@zrpc/testkit';
import { Router } from 'zeromq';
import { registry } from '../fixtures/provider.js';

/** A quiet in-process `@zrpc/server` for the provider fixture, bound to a free port. */
export function startServer(
  options: ServerOptions = {},
): Promise<{ server: Server; endpoint: string }> {
  return startBound(provider(options));
}

/**
 * One provider server for a whole test file: started before its tests and
 * closed after them. Read `endpoint` and `server` inside tests (they are set
 * once the file's `beforeAll` has run).
 */
export function providerPerFile(options: ServerOptions): { server: Server; endpoint: string } {
  return serverPerFile(() => provider(options));
}

function provider(options: ServerOptions): Server {
  return new Server({ registry, name: 'provider', logger: quietLogger(), ...options });
}

/**
 * A server that answers `add` and `_zerorpc_ping` and goes silent on any
 * other call (no reply, no heartbeat): how a hung server looks to a client.
 * `answers` says which methods it answers (change it to make the pings go
 * unanswered, say); `requests` names every request it received, in order.
 */
export async function silentServer(): Promise<{
  endpoint: string;
  answers: Set<string>;
  requests: string[];
  close(): void;
}> {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const answers = new Set(['add', '_zerorpc_ping']);
  const requests: string[] = [];
  void (async () => {
    for await (const frames of router) {
      const envelope = openEnvelope(frames)!;
      const request = decodeEvent(envelope.payload);
      if (request.header.response_to !== undefined) continue;
      requests.push(request.name);
      if (!answers.has(request.name)) continue;
      let result: unknown = ['pong', 'silent'];
      if (request.name === 'add') {
        const [a, b] = request.args as number[];
        result = a! + b!;
      }
      const header = channelHeader(ids.next(), request.header.message_id);
      const reply = encodeEvent({ header, name: 'OK', args: [result] });
      await router.send([...envelope.identity, Buffer.alloc(0), reply]);
    }
  })().catch(() => {});
  return { endpoint: router.lastEndpoint!, answers, requests, close: () => router.close() };
}

const ids = new MessageIdGenerator();
