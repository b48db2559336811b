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
const loadAverages = (averages: number[]) => averages.map((l) => l.toFixed(2)).join(', ');

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
async function rounds(stacks: Bench[], loads: Load[]): Promise<Map<Load, Samples>> {
  const samples = new Map(loads.map((load) => [load, emptySamples()]));
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
    for (const load of loads) {
      for (const stack of order)
        samples.get(load)![stack.stack.name].push(await measure(load, stack, load.size));
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`round ${round + 1}/${ROUNDS} done in ${seconds} s`);
  }
  return samples;
}

/**
 * The rounds of `loads`; with every load (`pnpm bench`), the scaling and
 * metrics rows after them, and the results written to results.json.
 */
async function main(loads: Load[]): Promise<void> {
  const everything = loads.length === LOADS.length;
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
  console.log(
    `warming up (${STACK_NAMES.join(', ')}), load average ${loadAverages(loadBefore)}...`,
  );
  for (const load of loads) for (const stack of stacks) await measure(load, stack, load.warmUpSize);
  const results: LoadResult[] = [...(await rounds(stacks, loads))].map(([load, s]) =>
    summarize(load, s),
  );
  console.log(`\nmedians of ${ROUNDS} rounds (higher is better)\n`);
  console.log(table(results));
  console.log(
    "ratios: the median of the rounds' ratios (each round measures the stacks seconds apart);\n" +
      'rounds: the lowest and highest zrpc/floor ratio of a single round;\n' +
      'CPU µs/op: the median CPU time per call (or item) of the client + the server process\n' +
      `(zrpc's server log, a line per call, is in ${LOG_DIR})`,
  );
  await Promise.all(stacks.map(({ stack }) => stack.close()));
  if (!everything) {
    await stopServers();
    return;
  }
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
    `\n${seconds} s in all, load average ${loadAverages(loadBefore)} before, ${loadAverages(loadAfter)} after; written to ${RESULTS_FILE.pathname}`,
  );
  await stopServers();
}

try {
  // `bench/index.ts scaling` (or `metrics`) runs the servers-scaling (or
  // metrics) rows alone; `bench/index.ts sequential stream` the rounds of
  // those loads alone (results.json is left as it is).
  const [part, ...more] = process.argv.slice(2);
  if (part === 'scaling') {
    console.log(scalingTable(await measureScaling()));
    await stopServers();
  } else if (part === 'metrics') {
    console.log(metricsTable(await measureMetricsCost()));
    await stopServers();
  } else if (part === undefined) {
    await main(LOADS);
  } else {
    const keys = [part, ...more];
    const unknown = keys.filter((key) => !LOADS.some((load) => load.key === key));
    if (unknown.length > 0) {
      const known = ['scaling', 'metrics', ...LOADS.map((load) => load.key)].join(', ');
      throw new Error(`unknown part ${unknown.join(', ')}: one of ${known}`);
    }
    await main(LOADS.filter((load) => keys.includes(load.key)));
  }
} catch (error) {
  console.error(error);
  // Calls may still be pending on a failed stack: do not wait for them.
  await stopServers();
  process.exit(1);
}
