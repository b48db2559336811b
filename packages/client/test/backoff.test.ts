// A server that loses a call is taken out of rotation and pinged back in:
// first 200 ms after the ejection, then twice as long after each ping that
// goes unanswered (up to 5 s), and again from 200 ms once one answers. The
// client runs on a fake clock against a raw server that answers only what
// the test lets it: the pings are counted as they arrive, time moves only
// between them.
import { FakeClock, nextTurns, rejection, until, within } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Client, LostRemoteError } from '../src/index.js';
import { silentServer } from './helpers/server.js';

const HEARTBEAT_MS = 100;
const PING = '_zerorpc_ping';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function setUp() {
  const server = await silentServer();
  open.push(() => server.close());
  const clock = new FakeClock();
  const client = new Client({
    endpoints: server.endpoint,
    heartbeatMs: HEARTBEAT_MS,
    assumedPeerHeartbeatMs: HEARTBEAT_MS,
    clock,
  });
  open.push(() => client.close());
  const pings = () => server.requests.filter((name) => name === PING).length;
  const state = () => client.servers[0]!.state;

  /** A call the server never answers: lost after two heartbeats, which ejects the server. */
  async function loseACall(): Promise<void> {
    const call = rejection(client.call('hang'));
    await until(() => server.requests.at(-1) === 'hang', 5000, 'the request');
    clock.advance(2 * HEARTBEAT_MS);
    expect(await within(5000, 'the lost call', call)).toBeInstanceOf(LostRemoteError);
    expect(state()).toBe('ejected');
  }

  /** The next ping comes exactly `ms` after now (none before), and arrives. */
  async function pingAfter(ms: number): Promise<void> {
    const before = pings();
    clock.advance(ms - 1);
    expect(pings()).toBe(before);
    clock.advance(1);
    await until(() => pings() === before + 1, 5000, `the ping after ${ms} ms`);
  }

  /** The ping in flight goes unanswered: the probe gives up after one heartbeat. */
  async function unanswered(): Promise<void> {
    clock.advance(HEARTBEAT_MS);
    await nextTurns();
  }

  return { server, state, loseACall, pingAfter, unanswered };
}

test('an ejected server is pinged 200 ms later, then after 400, 800...: back in rotation once a ping is answered', async () => {
  const { server, state, loseACall, pingAfter, unanswered } = await setUp();
  server.answers.delete(PING);
  await loseACall();
  expect(server.requests).toEqual(['hang']);

  for (const backoff of [200, 400, 800, 1600]) {
    await pingAfter(backoff);
    // Unanswered: the probe gives up, and waits twice as long.
    await unanswered();
    expect(state()).toBe('ejected');
  }
  server.answers.add(PING);
  await pingAfter(3200);
  await until(() => state() === 'up', 5000, 'the server back in rotation');

  // The backoff starts over with the next ejection.
  server.answers.delete(PING);
  await loseACall();
  await pingAfter(200);
  await unanswered();
  await pingAfter(400);
});

test('the backoff stops growing at 5 s', async () => {
  const { server, loseACall, pingAfter, unanswered } = await setUp();
  server.answers.delete(PING);
  await loseACall();
  for (const backoff of [200, 400, 800, 1600, 3200, 5000, 5000]) {
    await pingAfter(backoff);
    await unanswered();
  }
  expect(server.requests.filter((name) => name === PING)).toHaveLength(7);
});
