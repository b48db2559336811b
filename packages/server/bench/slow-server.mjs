// The server side of bench/memory.ts, run the way a deployed server runs:
// this package's compiled dist/ on plain Node.js, no TypeScript loader.
// It serves one method that waits, samples its own RSS, and reports to the
// parent over the IPC channel.
import { Registry } from '@zrpc/core';
import { Server } from '../dist/index.js';

const { HANDLER_MS, CALLS, CALLS_PER_CLIENT } = JSON.parse(process.env.ZRPC_BENCH ?? '{}');

const registry = new Registry();
registry.register(async function slow(n) {
  await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
  return n;
});
const server = new Server({
  registry,
  name: 'memory-bench',
  concurrency: CALLS,
  queueLimit: 0,
  maxChannelsPerPeer: CALLS_PER_CLIENT,
});
await server.bind('tcp://127.0.0.1:*');

let peakRss = process.memoryUsage().rss;
let peakOpen = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  peakOpen = Math.max(peakOpen, server.stats.openChannels);
}, 20);
process.send({ type: 'ready', endpoint: server.endpoints[0], rss: peakRss });
process.on('message', async () => {
  clearInterval(sampler);
  process.send({ type: 'report', peakRss, peakOpen, stats: { ...server.stats } });
  await server.close();
  process.disconnect();
});
