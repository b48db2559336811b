/**
 * Calls per second with the OpenTelemetry middleware off and on, in one
 * run: each configuration in its own process (a server and a client on
 * loopback, both with or without the middleware), measured in turn over
 * several rounds, their order rotating. Printed: the median rate of each,
 * the median of each round's ratio to `none`, the CPU time per call
 * (server and client together), which the shared machine's noise moves
 * less than the rates, and the spans exported per call.
 *
 *   none       no middleware
 *   bare       a middleware that only calls next(), on both sides: what having any costs
 *   api only   middleware on both sides, no SDK registered (the API's no-op)
 *   sdk, 0%    the SDK registered, sampling nothing (the trace still travels)
 *   sdk, 100%  the SDK sampling every call, its spans exported to memory as they end
 *
 * Run with `pnpm --filter @zrpc/opentelemetry bench` (ROUNDS=n to change the rounds).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Config, IN_FLIGHT, type LoadName, type Measured } from './config.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MEASURE_MS = 2000;
const WARM_UP_MS = 500;
const CONFIGS: readonly Config[] = ['none', 'bare', 'api only', 'sdk, 0%', 'sdk, 100%'];
const LOADS: readonly LoadName[] = ['in flight', 'sequential'];

interface Stack {
  config: Config;
  measure(load: LoadName, ms: number): Promise<Measured>;
  child: ChildProcess;
}

function startStack(config: Config): Promise<Stack> {
  const file = fileURLToPath(new URL('./stack.ts', import.meta.url));
  // The child inherits this process's node flags (`--import tsx`).
  const child = fork(file, [], {
    env: { ...process.env, ZRPC_BENCH_CONFIG: config },
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
  const stacks: Stack[] = [];
  try {
    for (const config of CONFIGS) stacks.push(await startStack(config));
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
  } finally {
    for (const stack of stacks) if (stack.child.connected) stack.child.disconnect();
    await Promise.all(
      stacks.map(
        (s) => s.child.exitCode ?? new Promise((resolve) => s.child.once('exit', resolve)),
      ),
    );
  }
}

function report(samples: Samples): void {
  const of = (load: LoadName, config: Config) => samples.get(`${load}|${config}`)!;
  const title = (load: LoadName) =>
    load === 'sequential' ? 'sequential' : `${IN_FLIGHT} in flight`;
  const others = CONFIGS.slice(1);

  const rates = [['calls/s', ...CONFIGS, ...others.map((c) => `${c} / none`)]];
  const cpu = [['CPU µs per call', ...CONFIGS, ...others.map((c) => `${c} - none`)]];
  const spans = [['spans exported per call', ...CONFIGS]];
  for (const load of LOADS) {
    const none = of(load, 'none');
    const ratio = (config: Config) => {
      const perRound = of(load, config).map((m, round) => m.rate / none[round]!.rate);
      const range = `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
      return `${median(perRound).toFixed(2)}x (${range})`;
    };
    const rate = (config: Config) => median(of(load, config).map((m) => m.rate));
    const micros = (config: Config) => median(of(load, config).map((m) => m.cpuMicros));
    const perCall = (config: Config) => median(of(load, config).map((m) => m.spansPerCall));
    rates.push([
      title(load),
      ...CONFIGS.map((c) => Math.round(rate(c)).toLocaleString('en-US')),
      ...others.map(ratio),
    ]);
    cpu.push([
      title(load),
      ...CONFIGS.map((c) => micros(c).toFixed(0)),
      ...others.map((c) => `+${(micros(c) - micros('none')).toFixed(0)}`),
    ]);
    spans.push([title(load), ...CONFIGS.map((c) => perCall(c).toFixed(2))]);
  }
  console.log(
    `\nmedians of ${ROUNDS} rounds; a ratio is the median of the rounds' ratios (lowest-highest)`,
  );
  for (const table of [rates, cpu, spans]) {
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    console.log('');
    for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  }
}

await main();
