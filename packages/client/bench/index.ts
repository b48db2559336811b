/**
 * zrpc against the floor (bare zeromq.js + msgpack) and grpc-js, in one
 * run: servers in child processes, loads interleaved over several rounds,
 * medians and ratios printed and written to bench/results.json.
 * Run with `pnpm bench` (repo root) or `pnpm --filter @zrpc/client bench`.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { LOG_DIR, type ServerChild, startServer, stopServers } from './children.js';
import { LOADS, type Load } from './loads.js';
import { measureMetricsCost, metricsTable } from './metrics.js';
import {
  emptySamples,
  type LoadResult,
  type Sample,
  type Samples,
  STACK_NAMES,
  summarize,
  table,
} from './report.js';
import { measureScaling, scalingTable } from './scaling.js';
import { floorStack } from './stacks/floor.js';
import { grpcStack } from './stacks/grpc.js';
import type { Stack } from './stacks/stack.js';
import { zrpcStack } from './stacks/zrpc.js';

const ROUNDS = 9;
/** A measurement that takes longer than this is a hang, not a slow stack. */
const MEASUREMENT_TIMEOUT_MS = 60_000;
const RESULTS_FILE = new URL('./results.json', import.meta.url);

/** The 1, 5 and 15 minute load averages, as `uptime` shows them. */
const loads = (averages: number[]) => averages.map((l) => l.toFixed(2)).join(', ');

/** Rates as whole numbers, ratios to three decimals: the JSON stays readable. */
const readable = (_key: string, value: unknown) =>
  typeof value !== 'number'
    ? value
    : Math.abs(value) >= 100
      ? Math.round(value)
      : +value.toFixed(3);

/** A stack with the server child it talks to. */
interface Bench {
  stack: Stack;
  server: ServerChild;
}

const cpuUs = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** One run of `load` on a stack: its rate, and the CPU time per operation of each process. */
async function measure(load: Load, { stack, server }: Bench, size: number): Promise<Sample> {
  const before = { client: cpuUs(), server: await server.cpuUs() };
  const { rate, operations } = await timeBounded(load, stack, size);
  const clientUs = cpuUs() - before.client;
  const serverUs = (await server.cpuUs()) - before.server;
  return { rate, clientUs: clientUs / operations, serverUs: serverUs / operations };
}

async function timeBounded(load: Load, stack: Stack, size: number) {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${stack.name}: "${load.title}" took over ${MEASUREMENT_TIMEOUT_MS} ms`)),
      MEASUREMENT_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([load.run(stack, size), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each round runs every load on every stack, the stacks' order rotating from round to round. */
async function rounds(stacks: Bench[]): Promise<Map<Load, Samples>> {
  const samples = new Map(LOADS.map((load) => [load, emptySamples()]));
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
    for (const load of LOADS) {
      for (const stack of order)
        samples.get(load)![stack.stack.name].push(await measure(load, stack, load.size));
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`round ${round + 1}/${ROUNDS} done in ${seconds} s`);
  }
  return samples;
}

async function main(): Promise<void> {
  const started = performance.now();
  const [zrpc, floor, grpc] = await Promise.all(
    ['zrpc', 'floor', 'grpc'].map((name) => startServer(name)),
  );
  const stacks: Bench[] = [
    { stack: zrpcStack(zrpc!.endpoint), server: zrpc! },
    { stack: floorStack(floor!.endpoint), server: floor! },
    { stack: grpcStack(grpc!.endpoint), server: grpc! },
  ];
  const loadBefore = loadavg();
  console.log(`warming up (${STACK_NAMES.join(', ')}), load average ${loads(loadBefore)}...`);
  for (const load of LOADS) for (const stack of stacks) await measure(load, stack, load.warmUpSize);
  const results: LoadResult[] = [...(await rounds(stacks))].map(([load, s]) => summarize(load, s));
  console.log(`\nmedians of ${ROUNDS} rounds (higher is better)\n`);
  console.log(table(results));
  console.log(
    "ratios: the median of the rounds' ratios (each round measures the stacks seconds apart);\n" +
      'rounds: the lowest and highest zrpc/floor ratio of a single round;\n' +
      'CPU µs/op: the median CPU time per call (or item) of the client + the server process\n' +
      `(zrpc's server log, a line per call, is in ${LOG_DIR})`,
  );
  await Promise.all(stacks.map(({ stack }) => stack.close()));
  console.log('\nscaling with servers...');
  const scaling = await measureScaling();
  console.log(`\n${scalingTable(scaling)}`);
  console.log('\nwhat metrics cost...');
  const metrics = await measureMetricsCost();
  console.log(`\n${metricsTable(metrics)}`);
  const seconds = Math.round((performance.now() - started) / 1000);
  const loadAfter = loadavg();
  const machine = {
    node: process.version,
    cpus: availableParallelism(),
    loadAverage: { before: loadBefore, after: loadAfter },
    rounds: ROUNDS,
    seconds,
  };
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify({ ...machine, results, scaling, metrics }, readable, 2)}\n`,
  );
  console.log(
    `\n${seconds} s in all, load average ${loads(loadBefore)} before, ${loads(loadAfter)} after; written to ${RESULTS_FILE.pathname}`,
  );
  await stopServers();
}

try {
  // `bench/index.ts scaling` (or `metrics`) runs the servers-scaling (or metrics) rows alone.
  if (process.argv[2] === 'scaling') {
    console.log(scalingTable(await measureScaling()));
    await stopServers();
  } else if (process.argv[2] === 'metrics') {
    console.log(metricsTable(await measureMetricsCost()));
    await stopServers();
  } else await main();
} catch (error) {
  console.error(error);
  // Calls may still be pending on a failed stack: do not wait for them.
  await stopServers();
  process.exit(1);
}
