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
import { type Config, IN_FLIGHT, type Measure, type Measured } from './config.js';

const config = process.env.ZRPC_BENCH_CONFIG as Config;
const dsn = process.env.ZRPC_BENCH_DSN!;

// `off` has Sentry initialised but no middleware: the difference is the middleware's cost.
if (config === 'off' || config === 'on, rate 1') Sentry.init({ dsn, tracesSampleRate: 1 });
if (config === 'on, rate 0') Sentry.init({ dsn, tracesSampleRate: 0 });
// No tracesSampleRate at all: errors only, the cheapest setting.
if (config === 'errors only') Sentry.init({ dsn });
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

/**
 * Calls per second over `ms`, `parallel` callers each calling in a loop,
 * and the CPU time this process (server and client) spent per call.
 */
async function measure(parallel: number, ms: number): Promise<Measured> {
  let calls = 0;
  const until = performance.now() + ms;
  const caller = async () => {
    for (let n = 0; performance.now() < until; n++) {
      if ((await client.call('add', n, 1)) !== n + 1) throw new Error(`add(${n}, 1) went wrong`);
      calls++;
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, caller));
  const elapsed = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { rate: (calls / elapsed) * 1000, cpuMicros: (user + system) / calls };
}

process.on('message', async ({ load, ms }: Measure) => {
  process.send!(await measure(load === 'sequential' ? 1 : IN_FLIGHT, ms));
});
process.on('disconnect', async () => {
  await client.close();
  await server.close({ graceMs: 100 });
  await Sentry.close(1000);
  process.exit(0);
});
process.send!({ ready: true });
