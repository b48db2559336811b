import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@zrpc/core';
import { afterEach, expect, test } from 'vitest';
import { Dealer } from 'zeromq';
import { Server } from '../src/index.js';
import { quietLogger, RawClient } from './helpers.js';

const servers: Server[] = [];
const clients: RawClient[] = [];
const socketFiles: string[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 0 })));
  for (const file of socketFiles.splice(0)) rmSync(file, { force: true });
});

function newServer(): Server {
  const registry = new Registry();
  registry.register(function where(tag: string) {
    return `answered ${tag}`;
  });
  const server = new Server({ registry, logger: quietLogger() });
  servers.push(server);
  return server;
}

async function callThrough(endpoint: string, tag: string, ipv6 = false): Promise<unknown> {
  const client = new RawClient(endpoint, { ipv6 });
  clients.push(client);
  client.request('where', [tag]);
  return (await client.nextReply()).args;
}

test('one server on tcp v4, tcp v6, ipc and inproc at once, answering on each', async () => {
  const server = newServer();
  const ipcPath = join(tmpdir(), `zrpc-test-${randomUUID()}.sock`);
  socketFiles.push(ipcPath);
  const inproc = `inproc://zrpc-test-${randomUUID()}`;
  await server.bind('tcp://127.0.0.1:*');
  await server.bind('tcp://[::1]:*');
  await server.bind(`ipc://${ipcPath}`);
  await server.bind(inproc);

  const [v4, v6, ipc, inp] = server.endpoints;
  expect(v4).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  expect(v6).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
  expect(ipc).toBe(`ipc://${ipcPath}`);
  expect(inp).toBe(inproc);
  expect(server.endpoints).toHaveLength(4);

  expect(await callThrough(v4!, 'v4')).toEqual(['answered v4']);
  expect(await callThrough(v6!, 'v6', true)).toEqual(['answered v6']);
  expect(await callThrough(ipc!, 'ipc')).toEqual(['answered ipc']);
  expect(await callThrough(inp!, 'inproc')).toEqual(['answered inproc']);
  expect(existsSync(ipcPath)).toBe(true);
});

test('an IPv4 endpoint bound after an IPv6 one is still reported (and reachable) as IPv4', async () => {
  const server = newServer();
  await server.bind('tcp://[::1]:*');
  await server.bind('tcp://127.0.0.1:*');
  expect(server.endpoints[1]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  expect(await callThrough(server.endpoints[1]!, 'v4 after v6')).toEqual(['answered v4 after v6']);
});

test('port 0 resolves to the real port', async () => {
  const server = newServer();
  await server.bind('tcp://127.0.0.1:0');
  expect(server.endpoints[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
  expect(await callThrough(server.endpoints[0]!, 'port 0')).toEqual(['answered port 0']);
});

test('a server can connect out to a peer that binds', async () => {
  const peer = new Dealer({ linger: 0 });
  await peer.bind('tcp://127.0.0.1:*');
  try {
    const server = newServer();
    await server.connect(peer.lastEndpoint!);
    expect(server.endpoints).toEqual([peer.lastEndpoint]);
    const { encodeEvent, decodeEvent, MessageIdGenerator } = await import('@zrpc/core/protocol');
    const id = new MessageIdGenerator().next();
    const request = encodeEvent({ header: { message_id: id, v: 3 }, name: 'where', args: ['out'] });
    await peer.send([Buffer.alloc(0), request]);
    const frames = await peer.receive();
    expect(decodeEvent(frames[frames.length - 1]!)).toMatchObject({
      name: 'OK',
      args: ['answered out'],
    });
  } finally {
    peer.close();
  }
});

test('binding an address already in use rejects with the socket error', async () => {
  const first = newServer();
  await first.bind('tcp://127.0.0.1:*');
  const second = newServer();
  await expect(second.bind(first.endpoints[0]!)).rejects.toThrow(/in use/i);
});

test('binding more endpoints while calls are answered loses no reply, and two binds may overlap', async () => {
  const server = newServer();
  await server.bind('tcp://127.0.0.1:*');
  const client = new RawClient(server.endpoints[0]!);
  clients.push(client);
  // Each round: requests arrive and are answered while a bind is under way
  // (ZeroMQ binds on a worker thread; the socket must not be used meanwhile).
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 50; i++) client.request('where', [`${round}.${i}`]);
    const binds = Promise.all([server.bind('tcp://127.0.0.1:*'), server.bind('tcp://127.0.0.1:*')]);
    const answers = new Set<unknown>();
    for (let i = 0; i < 50; i++) answers.add((await client.nextReply()).args);
    await binds;
    expect(answers.size).toBe(50);
  }
  expect(server.endpoints).toHaveLength(21);
  expect(server.stats.sendErrors).toBe(0);
  expect(await callThrough(server.endpoints[20]!, 'last')).toEqual(['answered last']);
});

test('a server closed gives its port back: another binds it at once, round after round', async () => {
  const probe = newServer();
  await probe.bind('tcp://127.0.0.1:*');
  const endpoint = probe.endpoints[0]!;
  await probe.close({ graceMs: 0 });
  // Before close waited for ZeroMQ to close the listener, the second or
  // third bind here failed with EADDRINUSE most of the time.
  for (let round = 0; round < 5; round++) {
    const server = newServer();
    await server.bind(endpoint);
    expect(await callThrough(endpoint, `round ${round}`)).toEqual([`answered round ${round}`]);
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close({ graceMs: 0 });
  }
});
