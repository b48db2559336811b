/**
 * One trace from the HTTP request to the provider's call, with
 * OpenTelemetry: this process runs the Fastify app (app.ts) with the SDK
 * and Node's HTTP instrumentation, as an application instruments itself,
 * and `otelClient()` on its pool; the tickets provider runs in its own
 * process under `zrpc-server`, its config adding `otelServer()` and
 * writing its spans to a file. The HTTP server span is the parent of the
 * zrpc client span, which is the parent of the provider's server span.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { otelClient } from '@zrpc/opentelemetry';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The child-process span file of @zrpc/opentelemetry's tests (a private test helper, shared in the repo).
import { spansInFile } from '../../../packages/opentelemetry/test/support/span-file.js';
import { type Started, startProvider } from '../processes.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const instrumentations = registerInstrumentations({
  instrumentations: [new HttpInstrumentation()],
});
// Fastify (and the node:http it requires) loads only now, instrumented.
const { buildApp } = await import('../app.js');

const CONFIG = fileURLToPath(new URL('./fixtures/traced-provider.config.ts', import.meta.url));

let dir: string;
let spansFile: string;
let tickets: Started;
let app: FastifyInstance;
let web: string;

beforeAll(async () => {
  dir = mkdtempSync('/tmp/zrpc-tickets-otel-');
  spansFile = join(dir, 'provider-spans.jsonl');
  tickets = await startProvider({
    config: CONFIG,
    env: { DATABASE_URL: `file:${join(dir, 'tickets.db')}`, ZRPC_SPANS_FILE: spansFile },
  });
  ({ app } = buildApp({
    endpoint: tickets.address,
    timeoutMs: 30_000,
    middleware: [
      otelClient({ service: 'tickets', endpoint: tickets.address, expected: ['DoesNotExist'] }),
    ],
  }));
  web = await app.listen({ port: 0, host: '127.0.0.1' });
}, 90_000);

afterAll(async () => {
  await app?.close();
  await tickets?.stop();
  instrumentations();
  await provider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => exporter.reset());

/** This process's spans once there are `count` of `kind` named `name` (hang guard, not a speed bound). */
async function spansHere(
  kind: SpanKind,
  name: string | RegExp,
  count = 1,
): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = exporter
      .getFinishedSpans()
      .filter(
        (s) => s.kind === kind && (typeof name === 'string' ? s.name === name : name.test(s.name)),
      );
    if (spans.length >= count || Date.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The request's HTTP server span, the zrpc client span and the provider's span, with their links checked. */
async function traceOf(method: string) {
  const [http] = await spansHere(SpanKind.SERVER, /^GET/);
  const [call] = await spansHere(SpanKind.CLIENT, `tickets/${method}`);
  // The file keeps every test's spans: this call's is the child of this client span.
  const [served] = await spansInFile(
    spansFile,
    (span) => span.parentSpanId === call!.spanContext().spanId,
  );
  expect(http?.instrumentationScope.name).toBe('@opentelemetry/instrumentation-http');
  expect(http!.parentSpanContext).toBeUndefined();
  expect(call!.parentSpanContext?.spanId).toBe(http!.spanContext().spanId);
  expect(served).toMatchObject({
    kind: SpanKind.SERVER,
    parentSpanId: call!.spanContext().spanId,
    traceId: http!.spanContext().traceId,
  });
  expect(call!.spanContext().traceId).toBe(http!.spanContext().traceId);
  return { http: http!, call: call!, served: served! };
}

describe('an HTTP request traced to the provider', () => {
  it('GET /tickets/:id: HTTP span → get_ticket client span → the provider’s span', async () => {
    const response = await fetch(`${web}/tickets/1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 1 });
    const { call, served } = await traceOf('get_ticket');
    expect(call.attributes).toMatchObject({
      'rpc.system.name': 'zerorpc',
      'rpc.method': 'tickets/get_ticket',
      'server.address': '127.0.0.1',
      'rpc.status_code': 'ok',
    });
    expect(served.attributes).toMatchObject({ 'rpc.status_code': 'ok', 'zerorpc.stream': false });
  });

  it('GET /tickets?n=: the stream’s spans, in the same trace', async () => {
    const response = await fetch(`${web}/tickets?n=3`);
    expect(await response.json()).toHaveLength(3);
    const { call, served } = await traceOf('ticket_list');
    expect(call.attributes).toMatchObject({ 'zerorpc.stream': true, 'rpc.status_code': 'ok' });
    expect(served.attributes).toMatchObject({ 'zerorpc.stream': true, 'rpc.status_code': 'ok' });
  });

  it("a missing ticket: the provider's DoesNotExist, expected on both sides, as a 404", async () => {
    const response = await fetch(`${web}/tickets/9999`);
    expect(response.status).toBe(404);
    const { call, served } = await traceOf('get_ticket');
    for (const span of [call, served]) {
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes['rpc.status_code']).toBe('error');
    }
  });
});
