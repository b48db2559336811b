/**
 * One side of `ab.ts`: a client of one stack and its server child, from the
 * tree this file is in. On each `run` message from the parent it runs the
 * load once and answers the rate and the CPU µs per operation of this
 * process and of its server (main thread, other threads).
 */
import { startServer, stopServers } from './children.js';
import { LOADS } from './loads.js';
import { cpuOf } from './process-cpu.js';
import { floorStack } from './stacks/floor.js';
import { zrpcStack } from './stacks/zrpc.js';

const [loadKey = 'inFlight64', clientName = 'zrpc', serverName = clientName] =
  process.argv.slice(2);
const load = LOADS.find((l) => l.key === loadKey)!;
const server = await startServer(serverName);
const stack = (clientName === 'floor' ? floorStack : zrpcStack)(server.endpoint);
process.on('message', async (message) => {
  if (message === 'stop') {
    await stack.close();
    await stopServers();
    process.exit(0);
  }
  const before = [cpuOf(process.pid), cpuOf(server.pid)];
  const { rate, operations } = await load.run(stack, Number(process.env.AB_SIZE ?? load.size));
  const figures = [rate];
  [cpuOf(process.pid), cpuOf(server.pid)].forEach((after, side) => {
    const main = (after.main - before[side]!.main) / operations;
    figures.push(main, (after.all - before[side]!.all) / operations - main);
  });
  process.send!(figures);
});
process.send!('ready');
