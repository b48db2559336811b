import { Registry } from '@zrpc/core';
import { expect, test } from 'vitest';
import { deferred, serverPerTest } from './helpers.js';

const session = serverPerTest();

test('concurrency 2, queueLimit 2: of 6 slow calls 2 run, 2 wait, 2 are refused at once; the waiting ones finish later', async () => {
  const registry = new Registry();
  const gates: Array<() => void> = [];
  const started: number[] = [];
  registry.register(async function slow(n: number) {
    started.push(n);
    const gate = deferred();
    gates.push(gate.resolve);
    await gate.promise;
    return n;
  });
  const { server, client } = await session.start({ registry, concurrency: 2, queueLimit: 2 });

  const ids = [0, 1, 2, 3, 4, 5].map((n) => client!.request('slow', [n]));
  const byId = (id: unknown) =>
    ids.findIndex((x) => Buffer.compare(x as Buffer, id as Buffer) === 0);

  // Two refusals arrive while the other four are in the server's hands.
  const refused = [await client.nextReply(), await client.nextReply()];
  for (const event of refused) {
    expect(event.name).toBe('ERR');
    expect((event.args as string[])[0]).toBe('ServerBusyError');
    expect((event.args as string[])[1]).toMatch(/concurrency 2, queueLimit 2/);
  }
  expect(refused.map((e) => byId(e.header.response_to)).sort()).toEqual([4, 5]);
  expect(started).toEqual([0, 1]);
  expect(server.stats).toMatchObject({ running: 2, queued: 2, rejectedBusy: 2, openChannels: 4 });

  // Each finished call lets the next waiting one in, in arrival order.
  gates.shift()!();
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [0] });
  await client.until(() => started.length === 3, 5000);
  expect(started).toEqual([0, 1, 2]);
  expect(server.stats).toMatchObject({ running: 2, queued: 1 });

  gates.shift()!();
  await client.until(() => started.length === 4, 5000);
  for (const open of gates.splice(0)) open();
  await client.until(() => client!.replies === 6, 5000, 'all replies');
  const answered = client.received
    .map((r) => r.event)
    .filter((e) => e.name === 'OK')
    .map((e) => (e.args as number[])[0]);
  expect(answered.sort()).toEqual([0, 1, 2, 3]);
  expect(server.stats).toMatchObject({ running: 0, queued: 0, openChannels: 0, rejectedBusy: 2 });
});

test('built-ins are answered even when every slot is taken', async () => {
  const registry = new Registry();
  const gate = deferred();
  registry.register(async function hold() {
    await gate.promise;
  });
  const { client } = await session.start({
    registry,
    name: 'busy',
    concurrency: 1,
    queueLimit: 0,
  });

  client.request('hold', []);
  client.request('hold', []);
  const refused = await client.nextReply();
  expect((refused.args as string[])[0]).toBe('ServerBusyError');
  client.request('_zerorpc_ping', []);
  expect((await client.nextReply()).args).toEqual([['pong', 'busy']]);
  gate.resolve();
  expect(await client.nextReply()).toMatchObject({ name: 'OK', args: [null] });
});
