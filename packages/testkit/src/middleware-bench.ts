/**
 * The parent of a middleware-cost benchmark (@zrpc/sentry's and
 * @zrpc/opentelemetry's `bench/calls.ts`): calls per second with a
 * middleware off and on, in one run. Each configuration runs in its own
 * process, a "stack" (a server and a client on loopback, see
 * `runBenchStack`), and the configurations are measured in turn over
 * several rounds, their order rotating. Printed: the median rate of each,
 * the median of each round's ratio to the baseline (the first
 * configuration), the CPU time per call (server and client together),
 * which the shared machine's noise moves less than the rates, and any count
 * per call the stacks report.
 *
 * A module of its own (`@zrpc/testkit/middleware-bench`), so that a
 * benchmark's processes do not load the test runner.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CONFIG_ENV,
  IN_FLIGHT,
  type LoadName,
  type Measure,
  type Measured,
} from './bench-stack.js';

export type { BenchStack, BenchZrpc, LoadName, Measured } from './bench-stack.js';
export { benchConfig, IN_FLIGHT, runBenchStack } from './bench-stack.js';

export interface MiddlewareBenchOptions<C extends string> {
  /** The stack's module, forked once per configuration with this process's node flags (`--import tsx`). */
  stack: URL;
  /** The configurations, the baseline first: ratios and CPU differences are to it. */
  configs: readonly C[];
  /** The loads, in the order they are measured and printed. */
  loads: readonly LoadName[];
  /** More environment for every stack (where to send what it reports, say). */
  env?: Record<string, string>;
}

/** Rounds of measurement: `ROUNDS` from the environment, else 5. */
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MEASURE_MS = 2000;
const WARM_UP_MS = 500;

interface Stack<C extends string> {
  config: C;
  measure(load: LoadName, ms: number): Promise<Measured>;
  child: ChildProcess;
}

function startStack<C extends string>(config: C, options: MiddlewareBenchOptions<C>) {
  // The child inherits this process's node flags (`--import tsx`).
  const child = fork(fileURLToPath(options.stack), [], {
    env: { ...process.env, ...options.env, [CONFIG_ENV]: config },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const measure = (load: LoadName, ms: number) =>
    new Promise<Measured>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${config}: ${load} hung`)), ms + 30_000);
      child.once('message', (measured: Measured) => {
        clearTimeout(timer);
        resolve(measured);
      });
      child.send({ load, ms } satisfies Measure);
    });
  return new Promise<Stack<C>>((resolve, reject) => {
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

/** Start a stack per configuration, measure them round after round, print the tables. */
export async function runMiddlewareBench<C extends string>(
  options: MiddlewareBenchOptions<C>,
): Promise<void> {
  const stacks: Stack<C>[] = [];
  try {
    for (const config of options.configs) stacks.push(await startStack(config, options));
    for (const stack of stacks) {
      for (const load of options.loads) await stack.measure(load, WARM_UP_MS);
    }
    const samples: Samples = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
      for (const load of options.loads) {
        for (const stack of order) {
          const key = `${load}|${stack.config}`;
          samples.set(key, [...(samples.get(key) ?? []), await stack.measure(load, MEASURE_MS)]);
        }
      }
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
    report(samples, options);
  } finally {
    for (const stack of stacks) if (stack.child.connected) stack.child.disconnect();
    await Promise.all(
      stacks.map(
        (s) => s.child.exitCode ?? new Promise((resolve) => s.child.once('exit', resolve)),
      ),
    );
  }
}

function report<C extends string>(samples: Samples, options: MiddlewareBenchOptions<C>): void {
  const { configs, loads } = options;
  const of = (load: LoadName, config: C) => samples.get(`${load}|${config}`)!;
  const title = (load: LoadName) =>
    load === 'sequential' ? 'sequential' : `${IN_FLIGHT} in flight`;
  const [baseline, ...others] = configs as [C, ...C[]];
  const counted = Object.keys(of(loads[0]!, baseline)[0]!.perCall);

  const rates = [['calls/s', ...configs, ...others.map((c) => `${c} / ${baseline}`)]];
  const cpu = [['CPU µs per call', ...configs, ...others.map((c) => `${c} - ${baseline}`)]];
  const counts = counted.map((name) => [[`${name} per call`, ...configs]]);
  for (const load of loads) {
    const base = of(load, baseline);
    const ratio = (config: C) => {
      const perRound = of(load, config).map((m, round) => m.rate / base[round]!.rate);
      const range = `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
      return `${median(perRound).toFixed(2)}x (${range})`;
    };
    const rate = (config: C) => median(of(load, config).map((m) => m.rate));
    const micros = (config: C) => median(of(load, config).map((m) => m.cpuMicros));
    const perCall = (config: C, name: string) =>
      median(of(load, config).map((m) => m.perCall[name]!));
    rates.push([
      title(load),
      ...configs.map((c) => Math.round(rate(c)).toLocaleString('en-US')),
      ...others.map(ratio),
    ]);
    cpu.push([
      title(load),
      ...configs.map((c) => micros(c).toFixed(0)),
      ...others.map((c) => `+${(micros(c) - micros(baseline)).toFixed(0)}`),
    ]);
    for (const [i, name] of counted.entries()) {
      counts[i]!.push([title(load), ...configs.map((c) => perCall(c, name).toFixed(2))]);
    }
  }
  console.log(
    `\nmedians of ${ROUNDS} rounds; a ratio is the median of the rounds' ratios (lowest-highest)`,
  );
  for (const table of [rates, cpu, ...counts]) printTable(table);
}

function printTable(table: string[][]): void {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log('');
  for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
}
