import * as Sentry from '@sentry/node';
import type { Client } from '@zrpc/client';
import { sentryClient, sentryServer } from '@zrpc/sentry';
import { afterAll, beforeAll, expect, it } from 'vitest';
// The Sentry stand-in of @zrpc/sentry's tests (a private test helper, shared in the repo).
import { SentryEndpoint } from '../../sentry/test/support/sentry-endpoint.js';
import { otelClient, otelServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { registerSdk, Services, spansNamed, unregisterSdk } from './support/tracing.js';

// OpenTelemetry owns tracing (its SDK, W3C trace context), Sentry reports
// errors only (no tracesSampleRate) with its `openTelemetryIntegration()`:
// both middlewares on every service, OpenTelemetry's outside. Every error
// event Sentry receives belongs to the OpenTelemetry trace, attached to
// the server span of the service that failed.

const sdk = registerSdk();
let sentry: SentryEndpoint;
const services = new Services();
let client: Client;
let endpointB: string;

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  Sentry.init({ dsn: sentry.dsn, integrations: [Sentry.openTelemetryIntegration()] });
  endpointB = await services.server({
    registry: appRegistry(),
    middleware: [otelServer({ service: 'B' }), sentryServer({ serverName: 'B' })],
  });
  const endpointA = await services.server({
    registry: appRegistry([otelClient({ service: 'B' }), sentryClient({ service: 'B' })]),
    middleware: [otelServer({ service: 'A' }), sentryServer({ serverName: 'A' })],
  });
  client = services.client(endpointA, [
    otelClient({ service: 'A' }),
    sentryClient({ service: 'A' }),
  ]);
});

afterAll(async () => {
  await services.close();
  await Sentry.close(2000);
  await sentry.close();
  await unregisterSdk(sdk.provider);
});

it("the errors of every service land on the OpenTelemetry trace, at the failing service's span", async () => {
  await expect(client.call('relay', endpointB, 'fail', ['deep'])).rejects.toMatchObject({
    remoteName: 'RemoteError',
  });
  const [atA] = (await spansNamed(sdk.exporter, 'A/relay', 2)).filter((s) => s.kind === 1);
  const [atB] = (await spansNamed(sdk.exporter, 'B/fail', 2)).filter((s) => s.kind === 1);
  expect(atB!.traceId).toBe(atA!.traceId);
  const deadline = Date.now() + 10_000;
  while (sentry.events().length < 2 && Date.now() < deadline) await Sentry.flush(1000);
  const events = sentry.events();
  const traceOf = (service: string) =>
    events.find((event) => event.tags['rpc.service'] === service)?.contexts.trace;
  expect(traceOf('B')).toMatchObject({ trace_id: atB!.traceId, span_id: atB!.spanId });
  expect(traceOf('A')).toMatchObject({ trace_id: atA!.traceId, span_id: atA!.spanId });
  // Sentry made no spans of its own, and sent none.
  expect(sentry.spans()).toEqual([]);
});
