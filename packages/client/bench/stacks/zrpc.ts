import { Client, RPCClient } from '@zrpc/client';
import type { Stack } from './stack.js';

/** `@zrpc/client` against the `@zrpc/server` child. */
export function zrpcStack(endpoint: string): Stack {
  const client = new Client({ endpoints: endpoint });
  // The pool at its default `max`, as a service would make it (another, for
  // bench/ab.ts: ZRPC_BENCH_POOL_MAX).
  const max = process.env.ZRPC_BENCH_POOL_MAX;
  const pool = new RPCClient({ endpoints: endpoint, ...(max && { max: Number(max) }) });
  return {
    name: 'zrpc',
    echo: (value) => client.call('echo', value),
    echoWide: (value) => pool.call('echo', value),
    async count(n) {
      let items = 0;
      for await (const _ of client.stream('count', n)) items++;
      return items;
    },
    async close() {
      await Promise.all([client.close(), pool.close()]);
    },
  };
}
