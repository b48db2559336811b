/**
 * One client against 1, 2 and 3 server processes on a CPU-bound method
 * (`work(200)`: 200 µs of busy work per call), 64 calls in flight: the
 * client spreads calls over its servers (fewest open calls first), so the
 * rate grows with servers as far as the machine's cores allow.
 */
import { Client } from '@zrpc/client';
import { startServer } from './children.js';
import { roundTrips } from './loads.js';

const WORK_US = 200;
const IN_FLIGHT = 64;
const MEASURE_MS = 1000;
const ROUNDS = 5;
export const SERVER_COUNTS = [1, 2, 3] as const;

export interface ScalingResult {
  servers: number;
  /** Median calls/s over the rounds. */
  rate: number;
  /** Median over the rounds of this rate / the 1-server rate of the same round. */
  ratio: number;
  samples: number[];
}

async function rate(client: Client, ms: number): Promise<number> {
  const call = (value: unknown) => client.call('work', value);
  return (await roundTrips(call, WORK_US, IN_FLIGHT, { ms })).rate;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Start three zrpc server children, measure, and answer the rows (the children stay up). */
export async function measureScaling(): Promise<ScalingResult[]> {
  const children = await Promise.all([0, 1, 2].map(() => startServer('zrpc')));
  const clients = SERVER_COUNTS.map(
    (n) => new Client({ endpoints: children.slice(0, n).map((child) => child.endpoint) }),
  );
  for (const client of clients) await rate(client, MEASURE_MS / 3);
  const samples = SERVER_COUNTS.map(() => [] as number[]);
  const ratios = SERVER_COUNTS.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    const rates: number[] = [];
    for (let i = 0; i < clients.length; i++) {
      const k = (i + round) % clients.length;
      rates[k] = await rate(clients[k]!, MEASURE_MS);
    }
    rates.forEach((r, k) => {
      samples[k]!.push(r);
      ratios[k]!.push(r / rates[0]!);
    });
    console.log(`servers round ${round + 1}/${ROUNDS} done`);
  }
  await Promise.all(clients.map((client) => client.close()));
  return SERVER_COUNTS.map((servers, k) => ({
    servers,
    rate: median(samples[k]!),
    ratio: median(ratios[k]!),
    samples: samples[k]!,
  }));
}

export function scalingTable(results: ScalingResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.servers} | ${Math.round(r.rate).toLocaleString('en-US')} | ${r.ratio.toFixed(2)}x |`,
  );
  return [
    `one client, ${IN_FLIGHT} calls in flight of work(${WORK_US} µs), against N server processes`,
    '',
    '| servers | calls/s | vs 1 server |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}
