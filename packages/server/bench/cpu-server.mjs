// The server side of bench/workers.ts, run the way a deployed server runs:
// this package's compiled dist/ on plain Node.js. The pool has its default
// size (the machine's cores).
import { Server } from '../dist/index.js';
import { registry } from './cpu-methods.mjs';

const server = new Server({ registry, name: 'workers-bench', logger: { ...console, warn() {} } });
await server.bind('tcp://127.0.0.1:*');
process.send({ type: 'ready', endpoint: server.endpoints[0] });
process.on('message', async () => {
  process.send({ type: 'stats', stats: server.stats });
  await server.close();
  process.disconnect();
});
