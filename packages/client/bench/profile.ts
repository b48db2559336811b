/**
 * Runs one load on one stack a few times and prints, besides the rate, the
 * CPU time each call (or stream item) costs the client and the server: on
 * a busy machine that is steadier than the rate. Each figure is split into
 * the main (JavaScript) thread and the process's other threads (ZeroMQ's
 * I/O thread, V8's GC and compiler threads). Under a profiler,
 *   node --cpu-prof --cpu-prof-dir=/tmp/zrpc-prof --import tsx bench/profile.ts inFlight64 zrpc
 * profiles this process (the client) and the server child alike (children
 * inherit the node flags). A third argument pairs the client with another
 * stack's server: `profile.ts inFlight64 zrpc floor` drives the floor's bare
 * ROUTER with @zrpc/client, `profile.ts inFlight64 floor zrpc` drives
 * @zrpc/server with the floor's bare DEALER, which tells the client's cost
 * from the server's (echo loads only: the floor server streams without credit).
 */
import { loadavg } from 'node:os';
import { startServer, stopServers } from './children.js';
import { LOADS } from './loads.js';
import { cpuOf } from './process-cpu.js';
import { floorStack } from './stacks/floor.js';
import { grpcStack } from './stacks/grpc.js';
import type { Stack } from './stacks/stack.js';
import { zrpcStack } from './stacks/zrpc.js';

const STACKS: Record<string, { server: string; connect(endpoint: string): Stack }> = {
  zrpc: { server: 'zrpc', connect: zrpcStack },
  floor: { server: 'floor', connect: floorStack },
  'grpc-js': { server: 'grpc', connect: grpcStack },
};
/** Runs of the load (`REPEATS=n` in the environment for more); the first is a warm-up. */
const REPEATS = Number(process.env.REPEATS ?? 6);
const [loadKey = 'inFlight64', clientName = 'zrpc', serverName = clientName] =
  process.argv.slice(2);
const load = LOADS.find((l) => l.key === loadKey);
const [chosen, serving] = [STACKS[clientName], STACKS[serverName]];
if (load === undefined || chosen === undefined || serving === undefined) {
  const stacks = Object.keys(STACKS).join('|');
  console.error(`usage: profile.ts <${LOADS.map((l) => l.key).join('|')}> <${stacks}> [${stacks}]`);
  process.exit(2);
}
const server = await startServer(serving.server);
const stack = chosen.connect(server.endpoint);
console.log(
  `${stack.name} client, ${serverName} server, ${load.title}: CPU µs per operation, main thread + other threads`,
);
/** One run's figures: the rate, then µs per operation of client main, client others, server main, server others. */
const runs: number[][] = [];
const line = (figures: number[]) => {
  const [rate, ...us] = figures;
  const pair = (main: number, others: number) =>
    `${main.toFixed(1).padStart(6)} + ${others.toFixed(1).padStart(5)}`;
  return `${Math.round(rate!).toString().padStart(8)} ${load.unit}   client ${pair(us[0]!, us[1]!)}   server ${pair(us[2]!, us[3]!)}`;
};
for (let i = 0; i < REPEATS; i++) {
  const before = [cpuOf(process.pid), cpuOf(server.pid)];
  const { rate, operations } = await load.run(stack, load.size);
  const figures = [rate];
  [cpuOf(process.pid), cpuOf(server.pid)].forEach((after, side) => {
    const main = (after.main - before[side]!.main) / operations;
    figures.push(main, (after.all - before[side]!.all) / operations - main);
  });
  console.log(line(figures));
  if (i > 0) runs.push(figures);
}
const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;
console.log(
  `${'-'.repeat(70)}\nmedians, the warm-up left out, load average ${loadavg()[0]!.toFixed(1)}`,
);
console.log(line(runs[0]!.map((_, k) => median(runs.map((figures) => figures[k]!)))));
await stack.close();
await stopServers();
