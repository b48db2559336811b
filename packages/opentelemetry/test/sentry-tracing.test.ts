import * as Sentry from '@sentry/node';
import type { EventHeader } from '@zrpc/core';
import { sentryClient, sentryServer } from '@zrpc/sentry';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
// The Sentry stand-in of @zrpc/sentry's tests (a private test helper, shared in the repo).
import { SentryEndpoint, type SpanV2 } from '../../sentry/test/support/sentry-endpoint.js';
import { otelClient, otelServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { recordHeaders, Services } from './support/tracing.js';

// Sentry as the tracing backend of the OpenTelemetry API
// (`enableOpenTelemetrySetup: true`, no OpenTelemetry SDK): the spans of
// @zrpc/opentelemetry are Sentry spans, and services with either
// middleware continue each other's traces, which travel as Sentry's
// `sentry-trace` and `baggage` (Sentry's propagator writes the header).

let sentry: SentryEndpoint;
const services = new Services();
const headers: EventHeader[] = [];
let sentryService: string;
let otelService: string;

const record = recordHeaders(headers);

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  Sentry.init({ dsn: sentry.dsn, tracesSampleRate: 1, enableOpenTelemetrySetup: true });
  sentryService = await services.server({
    registry: appRegistry(),
    middleware: [sentryServer({ serverName: 'S' }), record],
  });
  otelService = await services.server({
    registry: appRegistry(),
    middleware: [otelServer({ service: 'O' }), record],
  });
});

afterAll(async () => {
  await services.close();
  await Sentry.close(2000);
  await sentry.close();
});

beforeEach(async () => {
  await Sentry.flush(5000);
  sentry.clear();
  headers.length = 0;
});

function client(endpoint: string, middleware: Parameters<typeof otelClient>[0] | 'sentry') {
  return services.client(endpoint, [
    middleware === 'sentry' ? sentryClient({ service: 'O' }) : otelClient(middleware),
  ]);
}

/** The spans Sentry received named `name`, once there are `count` (bounded wait). */
async function received(name: string, count: number): Promise<SpanV2[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await Sentry.flush(5000);
    const spans = sentry.spans().filter((s) => s.name === name);
    if (spans.length >= count || Date.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('an @zrpc/opentelemetry client span is a Sentry span, and a @zrpc/sentry server continues it', async () => {
  expect(await client(sentryService, { service: 'S' }).call('add', 1, 2)).toBe(3);
  const spans = await received('S/add', 2);
  const fromOtel = spans.find((s) => s.attributes['rpc.system.name'] !== undefined)!;
  const atSentry = spans.find((s) => s.attributes['sentry.op']?.value === 'rpc.server')!;
  expect(fromOtel.attributes['rpc.method']?.value).toBe('S/add');
  expect(atSentry.trace_id).toBe(fromOtel.trace_id);
  expect(atSentry.parent_span_id).toBe(fromOtel.span_id);
  // Sentry's propagator wrote the header.
  expect(headers[0]!['sentry-trace']).toBe(`${fromOtel.trace_id}-${fromOtel.span_id}-1`);
  expect(headers[0]!.baggage).toContain(`sentry-trace_id=${fromOtel.trace_id}`);
});

it('a @zrpc/sentry client span is continued by an @zrpc/opentelemetry server', async () => {
  expect(await client(otelService, 'sentry').call('add', 2, 3)).toBe(5);
  const spans = await received('O/add', 2);
  const fromSentry = spans.find((s) => s.attributes['sentry.op']?.value === 'rpc.client')!;
  const atOtel = spans.find((s) => s.attributes['rpc.system.name'] !== undefined)!;
  expect(atOtel.trace_id).toBe(fromSentry.trace_id);
  expect(atOtel.parent_span_id).toBe(fromSentry.span_id);
  expect(atOtel.attributes['rpc.status_code']?.value).toBe('ok');
});
