/**
 * Calls per second with the Sentry middleware off and on, in one run:
 * each configuration in its own process (a server and a client on
 * loopback, both with or without the middleware), the configurations
 * measured in turn over several rounds, their order rotating. Printed: the
 * median rate of each, the median of each round's ratio to `off`, and the
 * CPU time per call (server and client together), which the shared
 * machine's noise moves less than the rates.
 *
 *   off         Sentry initialised (tracesSampleRate 1), no middleware
 *   noop        middleware on both sides, Sentry not initialised
 *   on, rate 1  middleware, every call traced: spans really sent
 *   on, rate 0  middleware, no call sampled (errors only, trace propagated)
 *   errors only middleware, Sentry initialised without tracesSampleRate
 *
 * Envelopes go to a local HTTP sink in this process, which counts them.
 * Run with `pnpm --filter @zrpc/sentry bench` (ROUNDS=n to change the rounds).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Config, IN_FLIGHT, type LoadName, type Measured } from './config.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MEASURE_MS = 2000;
const WARM_UP_MS = 500;
const CONFIGS: readonly Config[] = ['off', 'noop', 'on, rate 1', 'on, rate 0', 'errors only'];
const LOADS: readonly LoadName[] = ['sequential', 'in flight'];

/** A stand-in for Sentry's ingest: reads and counts what the SDK sends. */
async function startSink() {
  const counts = { envelopes: 0, bytes: 0 };
  const http = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    request.on('end', () => {
      counts.envelopes++;
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const dsn = `http://key@127.0.0.1:${(http.address() as AddressInfo).port}/1`;
  return { dsn, counts, close: () => new Promise<void>((resolve) => http.close(() => resolve())) };
}

interface Stack {
  config: Config;
  measure(load: LoadName, ms: number): Promise<Measured>;
  child: ChildProcess;
}

function startStack(config: Config, dsn: string): Promise<Stack> {
  const file = fileURLToPath(new URL('./stack.ts', import.meta.url));
  // The child inherits this process's node flags (`--import tsx`).
  const child = fork(file, [], {
    env: { ...process.env, ZRPC_BENCH_CONFIG: config, ZRPC_BENCH_DSN: dsn },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const measure = (load: LoadName, ms: number) =>
    new Promise<Measured>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${config}: ${load} hung`)), ms + 30_000);
      child.once('message', (measured: Measured) => {
        clearTimeout(timer);
        resolve(measured);
      });
      child.send({ load, ms });
    });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve({ config, measure, child }));
    child.once('exit', (code) => reject(new Error(`${config}: exited with ${code} before ready`)));
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type Samples = Map<string, Measured[]>;

async function main(): Promise<void> {
  const sink = await startSink();
  const stacks: Stack[] = [];
  try {
    for (const config of CONFIGS) stacks.push(await startStack(config, sink.dsn));
    for (const stack of stacks) for (const load of LOADS) await stack.measure(load, WARM_UP_MS);
    const samples: Samples = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
      for (const load of LOADS) {
        for (const stack of order) {
          const key = `${load}|${stack.config}`;
          samples.set(key, [...(samples.get(key) ?? []), await stack.measure(load, MEASURE_MS)]);
        }
      }
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
    report(samples);
    const { envelopes, bytes } = sink.counts;
    console.log(`\nthe sink received ${envelopes} envelopes (${Math.round(bytes / 1024)} KiB)`);
  } finally {
    for (const stack of stacks) if (stack.child.connected) stack.child.disconnect();
    await Promise.all(
      stacks.map(
        (s) => s.child.exitCode ?? new Promise((resolve) => s.child.once('exit', resolve)),
      ),
    );
    await sink.close();
  }
}

function report(samples: Samples): void {
  const of = (load: LoadName, config: Config) => samples.get(`${load}|${config}`)!;
  const title = (load: LoadName) =>
    load === 'sequential' ? 'sequential' : `${IN_FLIGHT} in flight`;
  const others = CONFIGS.slice(1);

  const rates = [['calls/s', ...CONFIGS, ...others.map((c) => `${c} / off`)]];
  const cpu = [['CPU µs per call', ...CONFIGS, ...others.map((c) => `${c} - off`)]];
  for (const load of LOADS) {
    const off = of(load, 'off');
    const ratio = (config: Config) => {
      const perRound = of(load, config).map((m, round) => m.rate / off[round]!.rate);
      const range = `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
      return `${median(perRound).toFixed(2)}x (${range})`;
    };
    const rate = (config: Config) => median(of(load, config).map((m) => m.rate));
    const micros = (config: Config) => median(of(load, config).map((m) => m.cpuMicros));
    rates.push([
      title(load),
      ...CONFIGS.map((c) => Math.round(rate(c)).toLocaleString('en-US')),
      ...others.map(ratio),
    ]);
    cpu.push([
      title(load),
      ...CONFIGS.map((c) => micros(c).toFixed(0)),
      ...others.map((c) => `+${(micros(c) - micros('off')).toFixed(0)}`),
    ]);
  }
  console.log(
    `\nmedians of ${ROUNDS} rounds; a ratio is the median of the rounds' ratios (lowest-highest)`,
  );
  for (const table of [rates, cpu]) {
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    console.log('');
    for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  }
}

await main();
