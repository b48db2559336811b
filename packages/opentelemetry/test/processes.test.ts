import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Client, type RemoteError, type RemoteStream } from '@zrpc/client';
import type { Server } from '@zrpc/server';
import { type RunnerProcess, startRunner } from '@zrpc/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { otelClient, otelServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { spansInFile } from './support/span-file.js';
import { sdkPerFile, spansNamed, startServer } from './support/tracing.js';

// Two processes, as services run: this one (a client, and the `ledger`
// server) and the `billing` provider, run by the real `zrpc-server` from a
// zrpc.config.ts that registers the SDK and adds `otelServer()`. Billing
// writes its spans to a file as JSON lines; the links between the two
// processes' spans are what the trace context in the header carried.

const CONFIG = fileURLToPath(new URL('./fixtures/runner/zrpc.config.ts', import.meta.url));

const { exporter } = sdkPerFile();
let dir: string;
let spansFile: string;
let runner: RunnerProcess;
let billing: string;
let ledger: Server;
let ledgerEndpoint: string;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zrpc-otel-'));
  spansFile = join(dir, 'billing-spans.jsonl');
  runner = await startRunner(CONFIG, { env: { ZRPC_SPANS_FILE: spansFile } });
  billing = runner.endpoint;
  ({ server: ledger, endpoint: ledgerEndpoint } = await startServer({
    registry: appRegistry(),
    middleware: [otelServer({ service: 'ledger' })],
  }));
  client = new Client({
    endpoints: billing,
    middleware: [otelClient({ service: 'billing', endpoint: billing })],
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await ledger?.close({ graceMs: 100 });
  await runner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Billing's spans named `name`, once there are `count`. */
const billingSpans = (name: string, count = 1) =>
  spansInFile(spansFile, (span) => span.name === name, count);

it("the client's span is the parent of the server's span in the other process", async () => {
  expect(await client.call('add', 20, 22)).toBe(42);
  const [callSpan] = await spansNamed(exporter, 'billing/add');
  const [serverSpan] = await billingSpans('billing/add');
  expect(callSpan).toMatchObject({ kind: SpanKind.CLIENT, parentSpanId: undefined });
  expect(serverSpan).toMatchObject({
    kind: SpanKind.SERVER,
    traceId: callSpan!.traceId,
    parentSpanId: callSpan!.spanId,
    status: { code: SpanStatusCode.UNSET },
    attributes: {
      'rpc.system.name': 'zerorpc',
      'rpc.method': 'billing/add',
      'rpc.status_code': 'ok',
    },
  });
});

it('a handler calling a service back in this process: one trace, four spans, each the parent of the next', async () => {
  expect(await client.call('charge', ledgerEndpoint, 2, 3)).toBe(5);
  const [fromHere] = await spansNamed(exporter, 'billing/charge');
  const [atBilling] = await billingSpans('billing/charge');
  const [fromBilling] = (await billingSpans('ledger/add')).filter(
    (s) => s.kind === SpanKind.CLIENT,
  );
  const [atLedger] = await spansNamed(exporter, 'ledger/add');
  expect(atBilling!.parentSpanId).toBe(fromHere!.spanId);
  expect(fromBilling!.parentSpanId).toBe(atBilling!.spanId);
  expect(atLedger).toMatchObject({ kind: SpanKind.SERVER, parentSpanId: fromBilling!.spanId });
  expect(new Set([fromHere, atBilling, fromBilling, atLedger].map((s) => s!.traceId)).size).toBe(1);
});

it("an error: the server's span in the other process and the client's both say so", async () => {
  const error = (await client.call('fail', 'card declined').catch((e) => e)) as RemoteError;
  expect(error.remoteName).toBe('ValueError');
  const [callSpan] = await spansNamed(exporter, 'billing/fail');
  const [serverSpan] = await billingSpans('billing/fail');
  for (const span of [callSpan, serverSpan]) {
    expect(span).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'card declined' },
      attributes: { 'error.type': 'ValueError', 'rpc.status_code': 'error' },
    });
  }
  expect(serverSpan!.parentSpanId).toBe(callSpan!.spanId);
});

it("a stream: the server's span covers every item", async () => {
  const items: number[] = [];
  for await (const item of (await client.call('count', 3, 50)) as RemoteStream<number>) {
    items.push(item);
  }
  expect(items).toEqual([0, 1, 2]);
  const [callSpan] = await spansNamed(exporter, 'billing/count');
  const [serverSpan] = await billingSpans('billing/count');
  expect(serverSpan).toMatchObject({
    parentSpanId: callSpan!.spanId,
    attributes: { 'zerorpc.stream': true, 'rpc.status_code': 'ok' },
  });
  // Three waits of 50 ms before the three items: a span ended at the first reply would be shorter.
  expect(serverSpan!.durationMs).toBeGreaterThanOrEqual(140);
});
