/**
 * One configuration of the benchmark, in its own process (OpenTelemetry's
 * registration is per process): how it registers the SDK and which
 * middleware it installs. @zrpc/testkit's `runBenchStack` serves, calls and
 * measures; the spans exported are counted here.
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
import { benchConfig, runBenchStack } from '@zrpc/testkit/middleware-bench';
import { otelClient, otelServer } from '../dist/index.js';
import type { Config } from './config.js';

const config = benchConfig<Config>();

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

/**
 * The spans the SDK exports during one measurement. A real exporter ships
 * spans away: counted and dropped every 100 ms, so that memory (and the
 * garbage collector's work) stays flat.
 */
function countSpans(): () => Record<string, number> {
  exporter.reset();
  let spans = 0;
  const drain = () => {
    spans += exporter.getFinishedSpans().length;
    exporter.reset();
  };
  const draining = setInterval(drain, 100);
  return () => {
    clearInterval(draining);
    drain();
    return { 'spans exported': spans };
  };
}

await runBenchStack({
  zrpc: { Registry, Server, Client },
  server: instrumented ? [otelServer({ service: 'bench' })] : bare,
  client: (endpoint: string) =>
    instrumented ? [otelClient({ service: 'bench', endpoint })] : bare,
  count: countSpans,
});
