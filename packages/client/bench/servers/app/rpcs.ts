// The bench's app, served by the zrpc-server runner (servers/zrpc.ts) as a
// user's rpcs.ts would be: echo for the call loads, count for the stream,
// work for the servers-scaling rows.
import { performance } from 'node:perf_hooks';
import { rpc } from '@zrpc/core';

export function echo(value: unknown): unknown {
  return value;
}

/** CPU-bound: `us` microseconds of busy work. */
export function work(us: number): number {
  const until = performance.now() + us / 1000;
  let spins = 0;
  while (performance.now() < until) spins++;
  return spins >= 0 ? us : -1;
}

export function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

rpc.register(echo);
rpc.register(work);
rpc.register(count, { stream: true });
