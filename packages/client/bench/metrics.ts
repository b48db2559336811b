/**
 * What metrics cost, side by side in one run: one client with 64 calls in
 * flight of `echo` against
 *
 *   off             a server with no observer;
 *   metrics         a server with its admin endpoint on (the Prometheus
 *                   observer and the status window record every call),
 *                   /metrics scraped every second during the measurement;
 *   metrics+flood   the same server while another process floods its admin
 *                   port (16 loops of back-to-back requests over its paths);
 *   client metrics  the `off` server, the client recording every call with
 *                   `clientMetrics` (scraped every second).
 *
 * The rows run in turn, their order rotating, over several rounds; a row's
 * ratio is the median of its rounds' ratios to `off` (each round measures
 * them seconds apart, so what the shared machine does then cancels out).
 * Also printed: the server's CPU time per call, which noise moves less.
 * `node --import tsx bench/index.ts metrics` runs this part alone.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@zrpc/client';
import { clientMetrics } from '@zrpc/client/metrics';
import { Registry } from 'prom-client';
import { startServer } from './children.js';
import { roundTrips } from './loads.js';

const IN_FLIGHT = 64;
const MEASURE_MS = 1500;
const ROUNDS = Number(process.env.METRICS_ROUNDS ?? 7);
const SCRAPE_EVERY_MS = 1000;
const PAYLOAD = 'a small payload..';
export const ROWS = ['off', 'metrics', 'metrics+flood', 'client metrics'] as const;
type Row = (typeof ROWS)[number];

export interface MetricsRow {
  row: Row;
  /** Median calls/s over the rounds. */
  rate: number;
  /** Median over the rounds of this rate / the `off` rate of the same round. */
  ratio: number;
  /** Median server CPU time per call, µs. */
  serverCpuMicros: number;
  samples: number[];
  /** metrics+flood: median admin requests/s the flood got answered. */
  floodRate?: number;
}

/** Calls/s of `IN_FLIGHT` callers on `client` for `ms`; every reply checked. */
async function rate(client: Client, ms: number): Promise<number> {
  const call = (value: unknown) => client.call('echo', value);
  return (await roundTrips(call, PAYLOAD, IN_FLIGHT, { ms })).rate;
}

/** GET `url` every second until `stop` is called (the scrape's text is read whole). */
function scrapeEverySecond(url: string | (() => Promise<string>)): () => Promise<void> {
  const read = typeof url === 'string' ? () => fetch(url).then((response) => response.text()) : url;
  let last = read();
  const timer = setInterval(() => {
    last = read();
  }, SCRAPE_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await last;
  };
}

function startFlood(admin: string): Promise<{ stop(): Promise<number>; child: ChildProcess }> {
  const file = fileURLToPath(new URL('./admin-flood.ts', import.meta.url));
  const child = fork(file, [admin], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () =>
      resolve({
        child,
        stop: () =>
          new Promise((done) => {
            child.once('message', (message: { requests: number }) => done(message.requests));
            child.send('stop');
          }),
      }),
    );
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function measureMetricsCost(): Promise<MetricsRow[]> {
  const [off, on] = await Promise.all([
    startServer('observed', ['off']),
    startServer('observed', ['metrics']),
  ]);
  const metricsUrl = new URL('/metrics', on!.admin!).href;
  const clients = {
    off: new Client({ endpoints: off!.endpoint }),
    on: new Client({ endpoints: on!.endpoint }),
    observed: new Client({ endpoints: off!.endpoint }),
  };
  const registry = new Registry();
  clientMetrics(registry).watch(clients.observed);

  /** One row once: its rate, and the server's CPU µs per call meanwhile. */
  async function run(row: Row, ms: number): Promise<{ rate: number; cpu: number; flood?: number }> {
    const server = row === 'metrics' || row === 'metrics+flood' ? on! : off!;
    const client =
      row === 'off' ? clients.off : row === 'client metrics' ? clients.observed : clients.on;
    const stopScraping =
      row === 'off'
        ? undefined
        : scrapeEverySecond(row === 'client metrics' ? () => registry.metrics() : metricsUrl);
    const flood = row === 'metrics+flood' ? await startFlood(on!.admin!) : undefined;
    const cpuBefore = await server.cpuUs();
    const started = performance.now();
    const calls = await rate(client, ms);
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await server.cpuUs()) - cpuBefore;
    const requests = await flood?.stop();
    await stopScraping?.();
    return {
      rate: calls,
      cpu: cpu / (calls * seconds),
      ...(requests !== undefined && { flood: requests / seconds }),
    };
  }

  for (const row of ROWS) await run(row, MEASURE_MS / 3);
  const samples = Object.fromEntries(ROWS.map((row) => [row, [] as number[]])) as Record<
    Row,
    number[]
  >;
  const ratios = Object.fromEntries(ROWS.map((row) => [row, [] as number[]])) as Record<
    Row,
    number[]
  >;
  const cpu = Object.fromEntries(ROWS.map((row) => [row, [] as number[]])) as Record<Row, number[]>;
  const floods: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rates = {} as Record<Row, number>;
    for (let i = 0; i < ROWS.length; i++) {
      const row = ROWS[(i + round) % ROWS.length]!;
      const result = await run(row, MEASURE_MS);
      rates[row] = result.rate;
      cpu[row].push(result.cpu);
      if (result.flood !== undefined) floods.push(result.flood);
    }
    for (const row of ROWS) {
      samples[row].push(rates[row]);
      ratios[row].push(rates[row] / rates.off);
    }
    console.log(`metrics round ${round + 1}/${ROUNDS} done`);
  }
  await Promise.all(Object.values(clients).map((client) => client.close()));
  return ROWS.map((row) => ({
    row,
    rate: median(samples[row]),
    ratio: median(ratios[row]),
    serverCpuMicros: median(cpu[row]),
    samples: samples[row],
    ...(row === 'metrics+flood' && { floodRate: median(floods) }),
  }));
}

const DESCRIPTIONS: Record<Row, string> = {
  off: 'no observer',
  metrics: 'server metrics on, /metrics scraped every second',
  'metrics+flood': 'the same, admin port flooded (16 loops of requests)',
  'client metrics': 'client metrics on (clientMetrics), scraped every second',
};

export function metricsTable(rows: MetricsRow[]): string {
  const lines = rows.map(
    (r) =>
      `| ${DESCRIPTIONS[r.row]} | ${Math.round(r.rate).toLocaleString('en-US')} | ${r.ratio.toFixed(2)}x | ${r.serverCpuMicros.toFixed(1)} |` +
      (r.floodRate === undefined
        ? ''
        : ` ${Math.round(r.floodRate).toLocaleString('en-US')} admin requests/s answered |`),
  );
  return [
    `${IN_FLIGHT} calls in flight of echo, ${ROUNDS} rounds (target: metrics on >= 0.95x off)`,
    '',
    '| row | calls/s | vs off | server CPU µs/call |',
    '| --- | --- | --- | --- |',
    ...lines,
  ].join('\n');
}
