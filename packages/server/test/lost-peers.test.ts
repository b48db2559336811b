// The zerorpc clients of the Django setup run at heartbeat=30: a server at
// its defaults serves their long calls, and still finds a client that is
// gone without waiting for two of those 30 s intervals (nor even two of
// the 30 s it assumes for a client that has not shown its pace).
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '@zrpc/core';
import { afterEach, expect, test } from 'vitest';
import { serverPerTest } from './helpers.js';
import { type CutOff, LostClientRun, namespacesRefused } from './lost-peers-helpers.js';

const session = serverPerTest();
const runs: LostClientRun[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.close();
});

test('a reference client at heartbeat=30 gets the reply of a 15 s call from a server at its defaults', async () => {
  const registry = new Registry();
  registry.register(async function nap(ms: number) {
    await sleep(ms);
    return 'rested';
  });
  const { server, client } = await session.start({ registry });
  // No zrpc_hb key and no heartbeat: its first would come 30 s after the request.
  client.request('nap', [15_000]);
  const reply = await client.nextReply(25_000);
  expect([reply.name, reply.args]).toEqual(['OK', ['rested']]);
  expect(server.stats.lostRemotes).toBe(0);
  // The server beat every 5 s meanwhile: the client keeps it for 60 s of silence.
  const beats = client.received.filter((r) => r.event.name === '_zpc_hb').length;
  expect(beats).toBeGreaterThanOrEqual(2);
}, 40_000);

/**
 * How the server ended the call of a reference client (one that never
 * heart-beats, as one at 30 s does for its first 30 s) cut off as `cutOff`.
 * Its channel heartbeats would find it only after 2 × 30 s (the pace
 * assumed for it) and say LostRemoteError; a PeerGoneError within the
 * bound is the connection found gone.
 */
async function lostAs(cutOff: CutOff, heartbeatMs?: number): Promise<string> {
  const run = new LostClientRun(cutOff, heartbeatMs);
  runs.push(run);
  return (await run.lost(20_000)).reason;
}

test('a SIGKILLed reference client is found by the next heartbeat sent to it (server defaults)', async () => {
  expect(await lostAs('kill')).toBe('PeerGoneError');
}, 30_000);

// Scaled: a server beating every 200 ms, so ZeroMQ's connection heartbeats
// at that pace too (at the defaults, 5 s: see bench/lost-clients.ts).
test('a SIGSTOPped reference client is found by the connection heartbeats', async () => {
  expect(await lostAs('stop', 200)).toBe('PeerGoneError');
}, 30_000);

test('a reference client cut off by the network is found by the connection heartbeats', async (ctx) => {
  const refused = namespacesRefused();
  if (refused !== undefined) {
    console.warn(
      `skipped: a network cut needs network namespaces (root, iproute2), refused here: ${refused}`,
    );
    ctx.skip();
  }
  expect(await lostAs('partition', 200)).toBe('PeerGoneError');
}, 30_000);
