// The server side of bench/soak: a @zrpc/server with default options, run as
// deployed (compiled dist/, plain Node.js, --expose-gc so that "RSS after the
// attacker left" is measured after a collection). It samples its own RSS and
// answers the parent over IPC: 'mark' -> peak RSS since the last mark and RSS now.
import { setTimeout as sleep } from 'node:timers/promises';
import { callSignal, Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';

const registry = new Registry();
registry.register(function quick() {
  return 1;
});
registry.register(async function slow(ms) {
  await sleep(ms, undefined, { signal: callSignal() });
  return ms;
});
registry.register(function echo(value) {
  return value;
});
registry.register(function megabyte() {
  return new Uint8Array(1024 * 1024);
});
registry.register(
  function* forever() {
    for (let i = 0; ; i++) yield i;
  },
  { stream: true },
);

const server = new Server({ registry, name: 'soak', logger: { info() {}, warn() {}, error() {} } });
await server.bind('tcp://127.0.0.1:*');
let peak = process.memoryUsage().rss;
setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 25).unref();
process.on('message', async (message) => {
  if (message === 'mark') {
    const reply = { peak, stats: server.stats };
    peak = process.memoryUsage().rss;
    process.send(reply);
  } else if (message === 'settled') {
    globalThis.gc?.();
    await sleep(200);
    globalThis.gc?.();
    process.send({ rss: process.memoryUsage().rss, stats: server.stats });
  }
});
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
process.send({ endpoint: server.endpoints[0] });
