/**
 * Calls per second with the Sentry middleware off and on, in one run:
 * each configuration in its own process (a server and a client on
 * loopback, both with or without the middleware), the configurations
 * measured in turn over several rounds, their order rotating. Printed: the
 * median rate of each, the median of each round's ratio to `off`, and the
 * CPU time per call (server and client together), which the shared
 * machine's noise moves less than the rates.
 *
 *   off         Sentry initialised (tracesSampleRate 1), no middleware
 *   noop        middleware on both sides, Sentry not initialised
 *   on, rate 1  middleware, every call traced: spans really sent
 *   on, rate 0  middleware, no call sampled (errors only, trace propagated)
 *   errors only middleware, Sentry initialised without tracesSampleRate
 *
 * Envelopes go to a local HTTP sink in this process, which counts them.
 * The harness (processes, rounds, tables) is @zrpc/testkit's; stack.ts
 * installs each configuration.
 * Run with `pnpm --filter @zrpc/sentry bench` (ROUNDS=n to change the rounds).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runMiddlewareBench } from '@zrpc/testkit/middleware-bench';
import { CONFIGS } from './config.js';

/** A stand-in for Sentry's ingest: reads and counts what the SDK sends. */
async function startSink() {
  const counts = { envelopes: 0, bytes: 0 };
  const http = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    request.on('end', () => {
      counts.envelopes++;
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const dsn = `http://key@127.0.0.1:${(http.address() as AddressInfo).port}/1`;
  return { dsn, counts, close: () => new Promise<void>((resolve) => http.close(() => resolve())) };
}

const sink = await startSink();
try {
  await runMiddlewareBench({
    stack: new URL('./stack.ts', import.meta.url),
    configs: CONFIGS,
    loads: ['sequential', 'in flight'],
    env: { ZRPC_BENCH_DSN: sink.dsn },
  });
  const { envelopes, bytes } = sink.counts;
  console.log(`\nthe sink received ${envelopes} envelopes (${Math.round(bytes / 1024)} KiB)`);
} finally {
  await sink.close();
}
