import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { Client } from '../src/index.js';

/*
 * Kill and drain, with a real child process: a zrpc Client has calls in
 * flight when the server gets SIGTERM; the server answers them all before
 * it exits, and every answer must reach the client.
 */

const SCRIPT = fileURLToPath(new URL('./fixtures/drain-server.mjs', import.meta.url));
const RUNS = 20;
const CALLS = 40;

async function oneRun(): Promise<{ answered: number; lost: string[]; exitCode: number | null }> {
  const child = spawn(process.execPath, [SCRIPT, String(CALLS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const { endpoint } = JSON.parse((await lines.next()).value) as { endpoint: string };
  const client = new Client<{ slow(ms: number): Promise<number> }>({
    endpoints: endpoint,
    timeoutMs: 4000,
  });
  try {
    const calls = Array.from({ length: CALLS }, (_, i) => client.slow(20 + ((i * 37) % 180)));
    // Every call has reached the server and runs: a request it reads only
    // after SIGTERM would be refused unrun (ServerDrainingError), not lost.
    expect((await lines.next()).value).toBe('running');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const outcomes = await Promise.allSettled(calls);
    const [exitCode] = (await exited) as [number | null];
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason?.name)] : []));
    return { answered: CALLS - lost.length, lost, exitCode };
  } finally {
    await client.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

test(`${RUNS} kill-and-drain runs: every call in flight at SIGTERM is answered, none lost`, async () => {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun());
  expect(runs.map((r) => r.exitCode)).toEqual(Array(RUNS).fill(0));
  expect(runs.flatMap((r) => r.lost)).toEqual([]);
  expect(runs.reduce((sum, r) => sum + r.answered, 0)).toBe(RUNS * CALLS);
}, 120_000);
