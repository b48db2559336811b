import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '@zrpc/core';
import {
  channelHeader,
  decodeEvent,
  ERR,
  encodeEvent,
  MessageIdGenerator,
  openEnvelope,
} from '@zrpc/core/protocol';
import { Server } from '@zrpc/server';
import { until } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Router } from 'zeromq';
import { Client } from '../src/index.js';

/*
 * A single server restarting on its address (a deploy, `zrpc-server
 * --reload`): the old one refuses new calls unrun (ServerDrainingError)
 * while it finishes its calls in flight, then leaves; the new one binds the
 * same address. The client holds the refused call, and the calls started
 * meanwhile, until the new server is connected, and sends them there.
 */

const silent = { info() {}, warn() {}, error() {} };
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A server named `name` whose `held()` calls wait until `release()`. */
function heldServer(name: string): { server: Server; release: () => void } {
  let release = () => {};
  const hold = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { server: serverNamed(name, hold), release };
}

function serverNamed(name: string, hold?: Promise<void>): Server {
  const registry = new Registry();
  registry.register(function who() {
    return name;
  });
  registry.register(async function held() {
    await hold;
    return name;
  });
  const server = new Server({ registry, logger: silent });
  open.push({ close: () => server.close({ graceMs: 0 }) });
  return server;
}

/** Bind where the old server was: ZeroMQ frees a closed socket's port a moment after close(). */
async function bindWhenFree(server: Server, endpoint: string): Promise<void> {
  await until(
    () =>
      server.bind(endpoint).then(
        () => true,
        (error: Error) => {
          if (!/in use/.test(error.message)) throw error;
          return false;
        },
      ),
    5000,
    `${endpoint} to be free`,
  );
}

test('calls refused by the only server while it restarts go to the next one at its address', async () => {
  const { server: old, release } = heldServer('old');
  await old.bind('tcp://127.0.0.1:*');
  const endpoint = old.endpoints[0]!;
  const client = new Client<{ who(): string; held(): string }>({ endpoints: endpoint });
  open.push(client);
  expect(await client.who()).toBe('old');

  const inFlight = client.held();
  await until(() => old.stats.running === 1, 5000, 'the call in flight');
  const closed = old.close({ graceMs: 10_000, drainMs: 100 });
  const refused = client.who();
  await until(() => old.stats.rejectedClosing >= 1, 5000, 'the refusal');
  const meanwhile = [client.who(), client.who(), client.who()];

  release();
  expect(await inFlight).toBe('old'); // answered by the old server before it left
  await closed;
  const successor = serverNamed('new');
  await bindWhenFree(successor, endpoint);
  expect(await refused).toBe('new');
  expect(await Promise.all(meanwhile)).toEqual(['new', 'new', 'new']);
});

test('once the server said it is leaving, new calls wait for the next connection instead of going to it', async () => {
  // The leaving server by hand: it refuses every call as draining, and notes what reached it.
  const leaving = new Router({ linger: 0 });
  await leaving.bind('tcp://127.0.0.1:*');
  const endpoint = leaving.lastEndpoint!;
  const reached: string[] = [];
  const ids = new MessageIdGenerator();
  void (async () => {
    for await (const frames of leaving) {
      const { identity, payload } = openEnvelope(frames)!;
      const request = decodeEvent(payload);
      if (request.header.response_to !== undefined) continue;
      reached.push(request.name);
      const header = channelHeader(ids.next(), request.header.message_id);
      const args = ['ServerDrainingError', 'the server is shutting down; the call was not run', ''];
      await leaving.send([...identity, Buffer.alloc(0), encodeEvent({ header, name: ERR, args })]);
    }
  })().catch(() => {});
  const client = new Client<{ who(): string }>({ endpoints: endpoint });
  open.push(client);

  const refused = client.who();
  await until(() => reached.includes('who'), 5000, 'the first call');
  const meanwhile = [client.who(), client.who(), client.who()];
  // Long enough for them to reach it if they were sent (loopback: well under a millisecond).
  await sleep(200);
  leaving.close();
  const successor = serverNamed('new');
  await bindWhenFree(successor, endpoint);

  expect(await refused).toBe('new');
  expect(await Promise.all(meanwhile)).toEqual(['new', 'new', 'new']);
  // Only the first call reached it (and, maybe, the client's pings, which probe it).
  expect(reached.filter((name) => name !== '_zerorpc_ping')).toEqual(['who']);
});

test('with no server back within its timeout, the refused call fails with the refusal', async () => {
  const { server: old, release } = heldServer('old');
  await old.bind('tcp://127.0.0.1:*');
  const client = new Client<{ who(): string; held(): string }>({
    endpoints: old.endpoints[0]!,
    timeoutMs: 1000,
  });
  open.push(client);
  const inFlight = client.withOptions({ timeoutMs: 10_000 }).held();
  await until(() => old.stats.running === 1, 5000, 'the call in flight');
  const closed = old.close({ graceMs: 10_000 });
  const refused = client.who().catch((error: unknown) => error);
  const error = (await refused) as { name: string; remoteName?: string };
  expect([error.name, error.remoteName]).toEqual(['RemoteError', 'ServerDrainingError']);
  release();
  await inFlight;
  await closed;
});
