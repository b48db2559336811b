// The server side of bench/workers.ts, run the way a deployed server runs:
// this package's compiled dist/ on plain Node.js. The pool has its default
// size (the machine's cores). A 10 ms interval timer stands for the
// server's heartbeat timers: on 'phase' the server reports how many times it
// fired since the last 'phase' and over how long; on 'close' it closes.
import { Server } from '../dist/index.js';
import { registry } from './cpu-methods.mjs';

const TICK_MS = 10;
const server = new Server({ registry, name: 'workers-bench', logger: { ...console, warn() {} } });
await server.bind('tcp://127.0.0.1:*');
let ticks = 0;
let since = performance.now();
const timer = setInterval(() => ticks++, TICK_MS);
process.send({ type: 'ready', endpoint: server.endpoints[0] });
process.on('message', async (message) => {
  if (message === 'phase') {
    const now = performance.now();
    process.send({ type: 'phase', fired: ticks, expected: (now - since) / TICK_MS });
    ticks = 0;
    since = now;
    return;
  }
  clearInterval(timer);
  process.send({ type: 'stats', stats: server.stats });
  await server.close();
  process.disconnect();
});
