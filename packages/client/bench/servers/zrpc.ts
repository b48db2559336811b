import { performance } from 'node:perf_hooks';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { announce } from './ready.js';

const registry = new Registry();
registry.register(function echo(value: unknown) {
  return value;
});
// CPU-bound: `us` microseconds of busy work, for the servers-scaling rows.
registry.register(function work(us: number) {
  const until = performance.now() + us / 1000;
  let spins = 0;
  while (performance.now() < until) spins++;
  return spins >= 0 ? us : -1;
});
registry.register(
  function* count(n: number) {
    for (let i = 0; i < n; i++) yield i;
  },
  { stream: true },
);

const server = new Server({ registry, name: 'bench' });
await server.bind('tcp://127.0.0.1:*');
announce(server.endpoints[0]!, () => server.close({ graceMs: 0 }));
