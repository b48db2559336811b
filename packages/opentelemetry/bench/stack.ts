/**
 * One configuration of the benchmark, in its own process (OpenTelemetry's
 * registration is per process): a server and a client on loopback, with or
 * without the middleware, measuring a load when the parent asks.
 */
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { Client } from '@zrpc/client';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { otelClient, otelServer } from '../src/index.js';
import { type Config, IN_FLIGHT, type Measure, type Measured } from './config.js';

const config = process.env.ZRPC_BENCH_CONFIG as Config;

// `sdk, 0%` samples nothing (spans are made, not recorded; the trace still
// travels); `sdk, 100%` records every span into memory, as it ends.
const exporter = new InMemorySpanExporter();
if (config === 'sdk, 0%' || config === 'sdk, 100%') {
  new NodeTracerProvider({
    sampler: config === 'sdk, 0%' ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }).register();
}
const instrumented = config !== 'none' && config !== 'bare';
// `bare` has a middleware that only calls next() on both sides: what any middleware costs.
const bare = config === 'bare' ? [(_ctx: unknown, next: () => Promise<void>) => next()] : [];

const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});
const quiet = { info() {}, warn() {}, error() {} };
const server = new Server({
  registry,
  name: 'bench',
  logger: quiet,
  middleware: instrumented ? [otelServer({ service: 'bench' })] : bare,
});
await server.bind('tcp://127.0.0.1:*');
const client = new Client({
  endpoints: server.endpoints[0]!,
  middleware: instrumented
    ? [otelClient({ service: 'bench', endpoint: server.endpoints[0]! })]
    : [],
});
// Every call's answer is checked: a configuration that broke calls would not be measured.
if ((await client.call('add', 1, 2)) !== 3) throw new Error('add(1, 2) is not 3');

/**
 * Calls per second over `ms`, `parallel` callers each calling in a loop,
 * the CPU time this process (server and client) spent per call, and the
 * spans the SDK exported meanwhile.
 */
async function measure(parallel: number, ms: number): Promise<Measured> {
  exporter.reset();
  // A real exporter ships spans away: counted and dropped every 100 ms, so
  // that memory (and the garbage collector's work) stays flat.
  let spans = 0;
  const drain = () => {
    spans += exporter.getFinishedSpans().length;
    exporter.reset();
  };
  const draining = setInterval(drain, 100);
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
  clearInterval(draining);
  drain();
  return {
    rate: (calls / elapsed) * 1000,
    cpuMicros: (user + system) / calls,
    spansPerCall: spans / calls,
  };
}

process.on('message', async ({ load, ms }: Measure) => {
  process.send!(await measure(load === 'sequential' ? 1 : IN_FLIGHT, ms));
});
process.on('disconnect', async () => {
  await client.close();
  await server.close({ graceMs: 100 });
  process.exit(0);
});
process.send!({ ready: true });
