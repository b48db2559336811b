import { until } from '@zrpc/testkit';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client, LostRemoteError, RPCClient } from '../src/index.js';
import { ChildServer } from './helpers/child.js';

// Three real server processes and one client. The heartbeat is short so that
// "longer than three heartbeats" stays quick, and not so short that a busy
// shared machine (2 cores, other jobs) makes a slow read look like a lost server.
const HEARTBEAT_MS = 500;

interface ChildApi {
  pid(): number;
  slowPid(ms: number): Promise<number>;
  numbers(n: number): Generator<number>;
}

let servers: ChildServer[] = [];

beforeAll(async () => {
  servers = await Promise.all([0, 1, 2].map(() => ChildServer.start(undefined, HEARTBEAT_MS)));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.kill()));
});

function client(options: ConstructorParameters<typeof Client>[0] = {}): Client<ChildApi> {
  return new Client<ChildApi>({
    endpoints: servers.map((server) => server.endpoint),
    heartbeatMs: HEARTBEAT_MS,
    ...options,
  });
}

async function sum(stream: AsyncIterable<number>): Promise<[count: number, total: number]> {
  let count = 0;
  let total = 0;
  for await (const item of stream) {
    count++;
    total += item;
  }
  return [count, total];
}

test('long calls (over three heartbeats) and 10,000-item streams complete, spread over three servers', async () => {
  const c = client();
  try {
    const long = Array.from({ length: 9 }, () => c.slowPid(4 * HEARTBEAT_MS));
    const streams = Array.from({ length: 3 }, () => sum(c.stream('numbers', 10_000)));
    // The least busy server takes each new call: three long calls each.
    const perServer = c.servers.map((server) => server.openCalls);
    expect(perServer).toEqual([4, 4, 4]);
    const [pids, sums] = await Promise.all([Promise.all(long), Promise.all(streams)]);
    expect(new Set(pids)).toEqual(new Set(servers.map((server) => server.pid)));
    for (const pid of new Set(pids)) expect(pids.filter((p) => p === pid)).toHaveLength(3);
    const expected: [number, number] = [10_000, (10_000 * 9_999) / 2];
    expect(sums).toEqual([expected, expected, expected]);
    expect(c.openChannels).toBe(0);
    expect(c.servers.map((server) => server.ejections)).toEqual([0, 0, 0]);
  } finally {
    await c.close();
  }
});

/** Callers that each call `slowPid(ms)` in a loop until stopped; what happened, by start time. */
function load(
  caller: { slowPid(ms: number): Promise<number> },
  callers: number,
  ms: number,
): {
  stop(): Promise<void>;
  results: Array<{ started: number; pid?: number; error?: unknown }>;
} {
  let running = true;
  const results: Array<{ started: number; pid?: number; error?: unknown }> = [];
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      const result: { started: number; pid?: number; error?: unknown } = { started: Date.now() };
      try {
        result.pid = await caller.slowPid(ms);
      } catch (error) {
        result.error = error;
      }
      results.push(result);
    }
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

test('SIGKILL one server under 200 callers: only its open calls fail, it leaves the rotation, and comes back after a restart', async () => {
  const pool = new RPCClient<ChildApi>({
    endpoints: servers.map((server) => server.endpoint),
    heartbeatMs: HEARTBEAT_MS,
    max: 200,
    timeoutMs: 5000,
  });
  const victim = servers[1]!;
  try {
    const traffic = load(pool, 200, 50);
    await until(() => traffic.results.length > 400, 10_000, 'the load to run');
    const openOnVictim = pool.stats.servers[1]!.openCalls;
    const killedAt = Date.now();
    await victim.kill();
    // Out of rotation within one heartbeat interval (the dropped connection says so).
    await until(
      () => pool.stats.servers[1]!.state === 'ejected',
      HEARTBEAT_MS,
      'the killed server to leave the rotation',
    );
    await until(() => Date.now() - killedAt > 4 * HEARTBEAT_MS, 5000, 'the lost calls to fail');
    const failures = traffic.results.filter((r) => r.error !== undefined);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure.error).toBeInstanceOf(LostRemoteError);
    // Only the calls open on it then (and those whose requests were on their way to it).
    expect(failures.length).toBeLessThanOrEqual(openOnVictim + 10);
    expect(failures.every((failure) => failure.started <= killedAt + HEARTBEAT_MS)).toBe(true);

    // Restarted on the same port: it takes calls again, with nobody doing anything.
    const restarted = await ChildServer.start(victim.endpoint, HEARTBEAT_MS);
    servers[1] = restarted;
    await until(
      () => traffic.results.some((r) => r.pid === restarted.pid),
      10_000,
      'calls to reach the restarted server',
    );
    await traffic.stop();
    expect(pool.stats.servers[1]).toMatchObject({ state: 'up', ejections: 1 });
    const lateFailures = traffic.results.filter(
      (r) => r.error !== undefined && r.started > killedAt + HEARTBEAT_MS,
    );
    expect(lateFailures).toEqual([]);
  } finally {
    await pool.close();
  }
});

test('SIGTERM one server under load: none of its calls fail, idempotent or not', async () => {
  const pool = new RPCClient<ChildApi>({
    endpoints: servers.map((server) => server.endpoint),
    heartbeatMs: HEARTBEAT_MS,
    max: 100,
    timeoutMs: 5000,
  });
  const leaving = servers[2]!;
  try {
    // Not marked idempotent: a request the server refuses while it shuts
    // down (ServerDrainingError) never ran, so it goes to another server.
    const traffic = load(pool, 100, 2 * HEARTBEAT_MS);
    const fromLeaving = () => traffic.results.filter((r) => r.pid === leaving.pid).length;
    // It answers calls (it is connected and running them), and has more open.
    await until(
      () => fromLeaving() > 0 && pool.stats.servers[2]!.openCalls > 10,
      10_000,
      'calls running on the server',
    );
    const answeredBefore = fromLeaving();
    await leaving.terminate();
    await until(() => pool.stats.servers[2]!.state === 'ejected', 2000, 'the server to leave');
    await traffic.stop();
    expect(traffic.results.filter((r) => r.error !== undefined)).toEqual([]);
    // The calls it was running finished there (requests it refused went elsewhere).
    expect(fromLeaving()).toBeGreaterThan(answeredBefore);
  } finally {
    await pool.close();
    servers[2] = await ChildServer.start(undefined, HEARTBEAT_MS);
  }
});

test('an idempotent call whose server is killed is answered by another one', async () => {
  const c = client({ timeoutMs: 10_000 });
  const victim = servers[0]!;
  try {
    // One call on each server (the fewest open first).
    const idempotent = c.withOptions({ idempotent: true });
    const calls = [0, 1, 2].map(() => idempotent.slowPid(3 * HEARTBEAT_MS));
    const onVictim = c.servers.findIndex((server) => server.endpoint === victim.endpoint);
    expect(c.servers[onVictim]!.openCalls).toBe(1);
    await victim.kill();
    const pids = await Promise.all(calls);
    expect(pids).not.toContain(victim.pid);
    expect(new Set(pids)).toEqual(new Set([servers[1]!.pid, servers[2]!.pid]));
    expect(c.servers[onVictim]!.state).toBe('ejected');
  } finally {
    await c.close();
    servers[0] = await ChildServer.start(victim.endpoint, HEARTBEAT_MS);
  }
});
