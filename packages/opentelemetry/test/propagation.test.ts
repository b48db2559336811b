import {
  type Context,
  context,
  propagation,
  SpanKind,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Client } from '@zrpc/client';
import type { ClientMiddleware, EventHeader } from '@zrpc/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { otelClient, otelServer } from '../src/index.js';
import { recordHeaders, relayPairPerFile, sdkPerFile, spansNamed } from './support/tracing.js';

// What travels in the header: the caller's trace read in every form a peer
// may send it, and whatever fields the application's propagators use.

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

const { exporter } = sdkPerFile();
const headersAtB: EventHeader[] = [];
const pair = relayPairPerFile({
  a: [otelServer()],
  relay: [otelClient()],
  b: [recordHeaders(headersAtB)],
});

beforeEach(() => {
  headersAtB.length = 0;
});

/** A plain client (no OpenTelemetry) whose requests carry `header`, as any peer's might. */
function clientSending(header: Record<string, unknown>): Client {
  const setHeader: ClientMiddleware = async (ctx, next) => {
    Object.assign(ctx.taskContext, header);
    await next();
  };
  return pair.client(pair.endpointA, [setHeader]);
}

/** A relay through A to B's `add`: A's server span and the header B received. */
async function relayFrom(client: Client) {
  expect(await client.call('relay', pair.endpointB, 'add', [1, 2])).toBe(3);
  return headersAtB.at(-1)!;
}

describe("a caller's trace", () => {
  it('is continued from traceparent and tracestate, and the tracestate goes on', async () => {
    const header = await relayFrom(
      clientSending({
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        tracestate: 'vendor=opaque,other=1',
      }),
    );
    const [serverSpan] = (await spansNamed(exporter, 'relay')).filter(
      (s) => s.kind === SpanKind.SERVER,
    );
    expect(serverSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
    const [callSpan] = await spansNamed(exporter, 'add');
    expect(header.traceparent).toBe(`00-${TRACE_ID}-${callSpan!.spanId}-01`);
    expect(header.tracestate).toBe('vendor=opaque,other=1');
  });

  it('is read when it arrives as msgpack bin', async () => {
    const traceparent = new TextEncoder().encode(`00-${TRACE_ID}-${PARENT_ID}-01`);
    expect(await clientSending({ traceparent }).call('add', 1, 1)).toBe(2);
    const [serverSpan] = await spansNamed(exporter, 'add');
    expect(serverSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
  });

  it('that cannot be read starts a new trace, and the call is answered as usual', async () => {
    const headers = [
      { traceparent: 42 },
      { traceparent: 'not-a-traceparent', tracestate: ',,,=;' },
      { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` },
      { traceparent: 'x'.repeat(10_000) },
      { traceparent: new Uint8Array([0xff, 0xfe]) },
      { traceparent: ['00', TRACE_ID] },
    ];
    for (const header of headers) expect(await clientSending(header).call('add', 2, 2)).toBe(4);
    const spans = await spansNamed(exporter, 'add', headers.length);
    expect(spans).toHaveLength(headers.length);
    for (const span of spans) {
      expect(span.parentSpanId).toBeUndefined();
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.traceId).not.toBe(TRACE_ID);
    }
  });

  it('that is not sampled records no span, and still travels on', async () => {
    const header = await relayFrom(
      clientSending({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` }),
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(header.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    expect(header.traceparent).not.toContain(PARENT_ID);
  });

  it('carries its baggage on through the handler to the next call', async () => {
    const client = pair.client(pair.endpointA, [otelClient()]);
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const header = await context.with(propagation.setBaggage(context.active(), baggage), () =>
      relayFrom(client),
    );
    expect(header.baggage).toBe('tenant=acme');
  });
});

/**
 * A propagator of another format, as an application may configure: the
 * trace in `x-trace` (`<trace id>:<span id>`), and an `x-note` field it
 * lists but writes only when the context holds a note.
 */
class XTracePropagator implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const span = trace.getSpanContext(ctx);
    if (span) setter.set(carrier, 'x-trace', `${span.traceId}:${span.spanId}`);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const value = getter.get(carrier, 'x-trace');
    const match = typeof value === 'string' ? /^([0-9a-f]{32}):([0-9a-f]{16})$/.exec(value) : null;
    if (!match) return ctx;
    return trace.setSpanContext(ctx, {
      traceId: match[1]!,
      spanId: match[2]!,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
  }

  fields(): string[] {
    return ['x-trace', 'x-note'];
  }
}

describe("the application's propagators", () => {
  beforeAll(() => {
    propagation.disable();
    propagation.setGlobalPropagator(new XTracePropagator());
  });
  afterAll(() => {
    propagation.disable();
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator()] }),
    );
  });

  it('decide the header fields: theirs are read and written, no others', async () => {
    const header = await relayFrom(
      clientSending({ 'x-trace': `${TRACE_ID}:${PARENT_ID}`, 'x-note': 'for A only' }),
    );
    const [serverSpan] = (await spansNamed(exporter, 'relay')).filter(
      (s) => s.kind === SpanKind.SERVER,
    );
    expect(serverSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
    const [callSpan] = await spansNamed(exporter, 'add');
    expect(header['x-trace']).toBe(`${TRACE_ID}:${callSpan!.spanId}`);
    // A field of the propagator's that it did not write now is not passed on from A's caller.
    expect(Object.keys(header)).not.toContain('x-note');
    expect(Object.keys(header)).not.toContain('traceparent');
  });
});
