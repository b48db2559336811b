/**
 * One configuration of the benchmark, in its own process (Sentry's state is
 * per process): a server and a client on loopback, with or without the
 * Sentry middleware, measuring a load when the parent asks.
 */
import * as Sentry from '@sentry/node';
import { Client } from '@zrpc/client';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { sentryClient, sentryServer } from '../src/index.js';
import { type Config, IN_FLIGHT, type Measure } from './config.js';

const config = process.env.ZRPC_BENCH_CONFIG as Config;
const dsn = process.env.ZRPC_BENCH_DSN!;

// `off` has Sentry initialised but no middleware: the difference is the middleware's cost.
if (config === 'off' || config === 'on, rate 1') Sentry.init({ dsn, tracesSampleRate: 1 });
if (config === 'on, rate 0') Sentry.init({ dsn, tracesSampleRate: 0 });
const instrumented = config !== 'off';

const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});
const quiet = { info() {}, warn() {}, error() {} };
const server = new Server({
  registry,
  name: 'bench',
  logger: quiet,
  middleware: instrumented ? [sentryServer({ serverName: 'bench' })] : [],
});
await server.bind('tcp://127.0.0.1:*');
const client = new Client({
  endpoints: server.endpoints[0]!,
  middleware: instrumented ? [sentryClient({ service: 'bench' })] : [],
});
// Every call's answer is checked: a configuration that broke calls would not be measured.
if ((await client.call('add', 1, 2)) !== 3) throw new Error('add(1, 2) is not 3');

/** Calls per second over `ms`, `parallel` callers each calling in a loop. */
async function rate(parallel: number, ms: number): Promise<number> {
  let calls = 0;
  const until = performance.now() + ms;
  const caller = async () => {
    for (let n = 0; performance.now() < until; n++) {
      if ((await client.call('add', n, 1)) !== n + 1) throw new Error(`add(${n}, 1) went wrong`);
      calls++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, caller));
  return (calls / (performance.now() - started)) * 1000;
}

process.on('message', async ({ load, ms }: Measure) => {
  const value = await rate(load === 'sequential' ? 1 : IN_FLIGHT, ms);
  process.send!({ rate: value });
});
process.on('disconnect', async () => {
  await client.close();
  await server.close({ graceMs: 100 });
  await Sentry.close(1000);
  process.exit(0);
});
process.send!({ ready: true });
