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
import { readFileSync } from 'node:fs';
import { startServer, stopServers } from './children.js';
import { LOADS } from './loads.js';
import { floorStack } from './stacks/floor.js';
import { grpcStack } from './stacks/grpc.js';
import type { Stack } from './stacks/stack.js';
import { zrpcStack } from './stacks/zrpc.js';

const STACKS: Record<string, { server: string; connect(endpoint: string): Stack }> = {
  zrpc: { server: 'zrpc', connect: zrpcStack },
  floor: { server: 'floor', connect: floorStack },
  'grpc-js': { server: 'grpc', connect: grpcStack },
};
const REPEATS = 5;
/** Linux counts a process's CPU time in clock ticks of 10 ms (`getconf CLK_TCK` = 100). */
const TICK_US = 10_000;

/** CPU time (user + system) so far of process `pid` and of its main thread, in µs, from /proc. */
function cpuOf(pid: number): { all: number; main: number } {
  const read = (stat: string) => {
    // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  };
  return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
}

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
for (let i = 0; i < REPEATS; i++) {
  const before = [cpuOf(process.pid), cpuOf(server.pid)];
  const { rate, operations } = await load.run(stack, load.size);
  const [client, serverSide] = [cpuOf(process.pid), cpuOf(server.pid)].map((after, side) => {
    const main = (after.main - before[side]!.main) / operations;
    const others = (after.all - before[side]!.all) / operations - main;
    return `${main.toFixed(1).padStart(6)} + ${others.toFixed(1).padStart(5)}`;
  });
  const figure = Math.round(rate).toString().padStart(8);
  console.log(`${figure} ${load.unit}   client ${client}   server ${serverSide}`);
}
await stack.close();
await stopServers();
