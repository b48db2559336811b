/**
 * What the OpenTelemetry SDK itself costs per call, with no zrpc at all:
 * the work any RPC instrumentation does for one unsampled call on each side
 * (the client starts a span, makes it active, injects `traceparent`; the
 * server extracts it, starts a span, makes it active; both end theirs),
 * with and without an SDK registered, and an async function awaited inside
 * the active context as the rest of the chain would be. Printed in µs per
 * call, for comparison with a zrpc call's CPU time (`pnpm bench`).
 *
 *   node --import tsx bench/sdk-floor.ts
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { EventHeader } from '@zrpc/core';
// The carrier the middleware uses: the zerorpc header, read and written the same way.
import { headerGetter, taskContextSetter } from '../dist/carrier.js';

const rest = async (): Promise<void> => {};

/** One call's tracing on both sides. */
async function tracedCall(): Promise<void> {
  const tracer = trace.getTracer('floor');
  const clientSpan = tracer.startSpan('svc/add', { kind: SpanKind.CLIENT }, context.active());
  const header: Record<string, unknown> = {};
  await context.with(trace.setSpan(context.active(), clientSpan), async () => {
    propagation.inject(context.active(), header, taskContextSetter);
    const parent = propagation.extract(ROOT_CONTEXT, header as EventHeader, headerGetter);
    const serverSpan = tracer.startSpan('svc/add', { kind: SpanKind.SERVER }, parent);
    await context.with(trace.setSpan(parent, serverSpan), rest);
    serverSpan.end();
  });
  clientSpan.end();
}

async function perCallMicros(calls: number, fn: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn();
  const { user, system } = process.cpuUsage(cpu);
  return (user + system) / calls;
}

const CALLS = 200_000;
const bare = async () => rest();
await perCallMicros(CALLS, bare); // warm-up
const noSdk = await perCallMicros(CALLS, tracedCall);
new NodeTracerProvider({
  sampler: new AlwaysOffSampler(),
  spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
}).register();
await perCallMicros(CALLS, tracedCall); // warm-up
const withSdk = await perCallMicros(CALLS, tracedCall);
const baseline = await perCallMicros(CALLS, bare);
console.log('CPU µs per call (both sides), no zrpc:');
console.log(`  an async call, nothing else          ${baseline.toFixed(2)}`);
console.log(`  tracing, API only (no SDK)           ${noSdk.toFixed(2)}`);
console.log(`  tracing, SDK sampling nothing (0%)   ${withSdk.toFixed(2)}`);
