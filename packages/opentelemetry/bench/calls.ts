/**
 * Calls per second with the OpenTelemetry middleware off and on, in one
 * run: each configuration in its own process (a server and a client on
 * loopback, both with or without the middleware), measured in turn over
 * several rounds, their order rotating. Printed: the median rate of each,
 * the median of each round's ratio to `none`, the CPU time per call
 * (server and client together), which the shared machine's noise moves
 * less than the rates, and the spans exported per call.
 *
 *   none       no middleware
 *   bare       a middleware that only calls next(), on both sides: what having any costs
 *   api only   middleware on both sides, no SDK registered (the API's no-op)
 *   sdk, 0%    the SDK registered, sampling nothing (the trace still travels)
 *   sdk, 100%  the SDK sampling every call, its spans exported to memory as they end
 *
 * The harness (processes, rounds, tables) is @zrpc/testkit's; stack.ts
 * installs each configuration.
 * Run with `pnpm --filter @zrpc/opentelemetry bench` (ROUNDS=n to change the rounds).
 */
import { runMiddlewareBench } from '@zrpc/testkit/middleware-bench';
import { CONFIGS } from './config.js';

await runMiddlewareBench({
  stack: new URL('./stack.ts', import.meta.url),
  configs: CONFIGS,
  loads: ['in flight', 'sequential'],
});
