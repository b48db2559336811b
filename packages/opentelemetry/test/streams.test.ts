import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Client, type RemoteStream } from '@zrpc/client';
import type { Server } from '@zrpc/server';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { otelClient, otelServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { sdkPerFile, spansNamed, startServer, view } from './support/tracing.js';

// A stream's spans cover its whole life: the server's until its last item
// is sent, the client's until the consumer is done with it.

const { exporter } = sdkPerFile();
let server: Server;
let client: Client;

/** The `gated` stream yields 0, then waits for the test to open the gate before 1 and 2. */
let gate: Promise<void>;
let openGate: () => void;
function closeGate(): void {
  gate = new Promise((resolve) => {
    openGate = resolve;
  });
}

beforeAll(async () => {
  const registry = appRegistry();
  registry.register(
    async function* gated() {
      yield 0;
      await gate;
      yield 1;
      yield 2;
    },
    { stream: true },
  );
  let endpoint: string;
  ({ server, endpoint } = await startServer({ registry, middleware: [otelServer()] }));
  client = new Client({ endpoints: endpoint, middleware: [otelClient()] });
  await client.call('add', 0, 0); // the server is known as a zrpc server: it hears cancellations
});

afterAll(async () => {
  openGate();
  await client.close();
  await server.close({ graceMs: 100 });
});

beforeEach(() => {
  closeGate();
});

const finished = (name: string) =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.name === name)
    .map(view);

it('both spans end only after the last item', async () => {
  const stream = (await client.call('gated')) as RemoteStream<number>;
  const items: number[] = [];
  for await (const item of stream) {
    items.push(item);
    if (item === 0) {
      // The server is waiting at the gate and the consumer holds item 0: nothing has ended.
      expect(finished('gated')).toEqual([]);
      openGate();
    }
  }
  expect(items).toEqual([0, 1, 2]);
  const spans = await spansNamed(exporter, 'gated', 2);
  const callSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
  const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER)!;
  expect(serverSpan.parentSpanId).toBe(callSpan.spanId);
  for (const span of [callSpan, serverSpan]) {
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({ 'zerorpc.stream': true, 'rpc.status_code': 'ok' });
  }
});

it('an error mid-stream ends both spans with it', async () => {
  const items: number[] = [];
  const error = await (async () => {
    for await (const item of (await client.call('count_then_fail', 2)) as RemoteStream<number>) {
      items.push(item);
    }
  })().catch((e: unknown) => e);
  expect(items).toEqual([0, 1]);
  expect(error).toMatchObject({ remoteName: 'ValueError', remoteMessage: 'after 2' });
  const spans = await spansNamed(exporter, 'count_then_fail', 2);
  expect(spans.map((s) => [s.status, s.attributes['error.type']])).toEqual([
    [{ code: SpanStatusCode.ERROR, message: 'after 2' }, 'ValueError'],
    [{ code: SpanStatusCode.ERROR, message: 'after 2' }, 'ValueError'],
  ]);
});

it('a consumer leaving early ends its span at once; the server records the cancellation', async () => {
  const stream = (await client.call('gated')) as RemoteStream<number>;
  for await (const item of stream) {
    expect(item).toBe(0);
    expect(finished('gated')).toEqual([]);
    break;
  }
  const [callSpan] = finished('gated');
  expect(callSpan).toMatchObject({
    kind: SpanKind.CLIENT,
    status: { code: SpanStatusCode.UNSET },
    attributes: { 'rpc.status_code': 'ok' },
  });
  const serverSpan = (await spansNamed(exporter, 'gated', 2)).find(
    (s) => s.kind === SpanKind.SERVER,
  )!;
  expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
  expect(serverSpan.attributes['rpc.status_code']).toBe('cancelled');
  openGate();
});
