/**
 * Runs one load on one stack a few times and prints, besides the rate, the
 * CPU time each call (or stream item) costs the client and the server: on
 * a busy machine that is steadier than the rate. Under a profiler,
 *   node --cpu-prof --cpu-prof-dir=/tmp/zrpc-prof --import tsx bench/profile.ts inFlight64 zrpc
 * profiles this process (the client) and the server child alike (children
 * inherit the node flags).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
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

/** CPU time (user + system) of process `pid` so far, in µs, from /proc. */
function cpuOf(pid: number): number {
  // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

const [loadKey = 'inFlight64', stackName = 'zrpc'] = process.argv.slice(2);
const load = LOADS.find((l) => l.key === loadKey);
const chosen = STACKS[stackName];
if (load === undefined || chosen === undefined) {
  const usage = `<${LOADS.map((l) => l.key).join('|')}> <${Object.keys(STACKS).join('|')}>`;
  console.error(`usage: profile.ts ${usage}`);
  process.exit(2);
}
const server = await startServer(chosen.server);
const stack = chosen.connect(server.endpoint);
for (let i = 0; i < REPEATS; i++) {
  const [clientBefore, serverBefore, started] = [
    process.cpuUsage(),
    cpuOf(server.pid),
    performance.now(),
  ];
  const rate = await load.run(stack, load.size);
  const operations = (rate * (performance.now() - started)) / 1000;
  const { user, system } = process.cpuUsage(clientBefore);
  const perOperation = (us: number) => (us / operations).toFixed(1).padStart(6);
  console.log(
    `${stack.name} ${load.title}: ${Math.round(rate)} ${load.unit}, CPU µs each: client ${perOperation(user + system)}, server ${perOperation(cpuOf(server.pid) - serverBefore)}`,
  );
}
await stack.close();
await stopServers();
