import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Client, RemoteError } from '@zrpc/client';
import type { EventHeader } from '@zrpc/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { otelClient, otelServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import {
  recordHeaders,
  Services,
  type SpanView,
  sdkPerFile,
  spansNamed,
} from './support/tracing.js';

// One process, the SDK registered as an application does, spans exported to
// memory: what each span says, and how they link, over real sockets.

const { exporter } = sdkPerFile();
const services = new Services();
/** The request headers server A received (recorded inside the OpenTelemetry middleware). */
const headersAtA: EventHeader[] = [];
const headersAtB: EventHeader[] = [];
let endpointA: string;
let endpointB: string;
/** A client of A with the middleware. */
let client: Client;

beforeAll(async () => {
  ({ endpointA, endpointB } = await services.relayPair({
    a: [otelServer({ service: 'A', expected: ['NotFound'] }), recordHeaders(headersAtA)],
    relay: [otelClient({ service: 'B' })],
    b: [otelServer({ service: 'B' }), recordHeaders(headersAtB)],
  }));
  client = services.client(endpointA, [otelClient({ service: 'A', endpoint: endpointA })]);
});

afterAll(() => services.close());

beforeEach(() => {
  headersAtA.length = 0;
  headersAtB.length = 0;
});

const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));

describe('a call', () => {
  it('is a CLIENT span, the parent of the SERVER span, with the RPC attributes', async () => {
    expect(await client.call('add', 1, 2)).toBe(3);
    const spans = await spansNamed(exporter, 'A/add', 2);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(spans.map((s) => s.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
    const callSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(callSpan).toMatchObject({
      parentSpanId: undefined,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'rpc.system.name': 'zerorpc',
        'rpc.method': 'A/add',
        'server.address': '127.0.0.1',
        'server.port': portOf(endpointA),
        'rpc.status_code': 'ok',
      },
    });
    expect(Object.keys(callSpan.attributes)).not.toContain('error.type');
    expect(serverSpan).toMatchObject({
      traceId: callSpan.traceId,
      parentSpanId: callSpan.spanId,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'rpc.system.name': 'zerorpc',
        'rpc.method': 'A/add',
        'zerorpc.stream': false,
        'rpc.status_code': 'ok',
      },
    });
    expect(serverSpan.attributes['zerorpc.peer']).toMatch(/^[0-9a-f]+$/);
    expect(Object.keys(serverSpan.attributes)).not.toContain('server.address');
  });

  it('carries W3C trace context in the request header, as str', async () => {
    await client.call('add', 1, 2);
    const callSpan = (await spansNamed(exporter, 'A/add', 2)).find(
      (s) => s.kind === SpanKind.CLIENT,
    )!;
    expect(headersAtA).toHaveLength(1);
    expect(headersAtA[0]!.traceparent).toBe(`00-${callSpan.traceId}-${callSpan.spanId}-01`);
    // The SDK writes tracestate only when the trace has one.
    expect(Object.keys(headersAtA[0]!)).not.toContain('tracestate');
  });

  it('is the child of the span active around it', async () => {
    await trace.getTracer('test').startActiveSpan('GET /tickets/:id', async (outer) => {
      await client.call('add', 1, 2);
      outer.end();
    });
    const [outer] = await spansNamed(exporter, 'GET /tickets/:id');
    const spans = await spansNamed(exporter, 'A/add', 2);
    const callSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(callSpan.parentSpanId).toBe(outer!.spanId);
    expect(new Set([outer!.traceId, callSpan.traceId, serverSpan.traceId]).size).toBe(1);
  });

  it("makes the server span active in the handler: the handler's spans are its children", async () => {
    const innerId = await client.call('traced');
    const [inner] = await spansNamed(exporter, 'inside the handler');
    const serverSpan = (await spansNamed(exporter, 'A/traced', 2)).find(
      (s) => s.kind === SpanKind.SERVER,
    )!;
    expect(inner!.spanId).toBe(innerId);
    expect(inner!.parentSpanId).toBe(serverSpan.spanId);
  });

  it('a call made inside a handler continues its trace: client → A → B in one trace', async () => {
    expect(await client.call('relay', endpointB, 'add', [2, 3])).toBe(5);
    const [fromClient, atA] = sortByKind(await spansNamed(exporter, 'A/relay', 2));
    const [fromA, atB] = sortByKind(await spansNamed(exporter, 'B/add', 2));
    expect(atA!.parentSpanId).toBe(fromClient!.spanId);
    expect(fromA!.parentSpanId).toBe(atA!.spanId);
    expect(atB!.parentSpanId).toBe(fromA!.spanId);
    expect(new Set([fromClient, atA, fromA, atB].map((s) => s!.traceId)).size).toBe(1);
    // B's header names A's call, not the client's: the inherited fields were replaced.
    expect(headersAtB[0]!.traceparent).toBe(`00-${fromA!.traceId}-${fromA!.spanId}-01`);
  });

  it('a span active where the server was started is never a call’s parent', async () => {
    const booted = await trace.getTracer('test').startActiveSpan('boot', async (boot) => {
      const started = await services.server({
        registry: appRegistry(),
        middleware: [otelServer()],
      });
      boot.end();
      return started;
    });
    // A plain client: no trace in the header.
    const plain = services.client(booted);
    expect(await plain.call('add', 1, 1)).toBe(2);
    const [serverSpan] = await spansNamed(exporter, 'add');
    expect(serverSpan).toMatchObject({ kind: SpanKind.SERVER, parentSpanId: undefined });
    const [boot] = await spansNamed(exporter, 'boot');
    expect(serverSpan!.traceId).not.toBe(boot!.traceId);
  });
});

function sortByKind<T extends { kind: number }>(spans: T[]): T[] {
  // CLIENT (2) before SERVER (1): the caller's span first.
  return [...spans].sort((x, y) => y.kind - x.kind);
}

/** The two spans of a call to A, client's first. */
async function spansOfCall(method: string): Promise<[SpanView, SpanView]> {
  const [callSpan, serverSpan] = sortByKind(await spansNamed(exporter, `A/${method}`, 2));
  return [callSpan!, serverSpan!];
}

describe('how a call ends', () => {
  it("an error: both spans ERROR, error.type the name the caller sees, the error's message", async () => {
    const error = (await client.call('fail', 'no luck').catch((e) => e)) as RemoteError;
    expect(error.remoteName).toBe('ValueError');
    const [callSpan, serverSpan] = await spansOfCall('fail');
    for (const span of [callSpan, serverSpan]) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no luck' });
      expect(span.attributes).toMatchObject({
        'error.type': 'ValueError',
        'rpc.status_code': 'error',
      });
    }
  });

  it('an expected error: status unset and no error.type where it is expected', async () => {
    await expect(client.call('find', 7)).rejects.toMatchObject({ remoteName: 'NotFound' });
    const [callSpan, serverSpan] = await spansOfCall('find');
    // A expects NotFound; this client does not.
    expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(serverSpan.attributes).toMatchObject({ 'rpc.status_code': 'error' });
    expect(Object.keys(serverSpan.attributes)).not.toContain('error.type');
    expect(callSpan.attributes).toMatchObject({ 'error.type': 'NotFound' });
    const tolerant = services.client(endpointA, [
      otelClient({ service: 'A', expected: (e) => (e as RemoteError).remoteName === 'NotFound' }),
    ]);
    exporter.reset();
    await expect(tolerant.call('find', 7)).rejects.toMatchObject({ remoteName: 'NotFound' });
    const [tolerantSpan] = await spansOfCall('find');
    expect(tolerantSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(Object.keys(tolerantSpan.attributes)).not.toContain('error.type');
  });

  it("arguments that do not fit: the caller's error, not the server's", async () => {
    await expect(client.call('check', 'seven')).rejects.toMatchObject({ remoteName: 'TypeError' });
    const [callSpan, serverSpan] = await spansOfCall('check');
    expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(serverSpan.attributes['rpc.status_code']).toBe('bad_arguments');
    // On the client a remote TypeError is any handler's error (only the server knows why).
    expect(callSpan.status.code).toBe(SpanStatusCode.ERROR);
    expect(callSpan.attributes).toMatchObject({
      'error.type': 'TypeError',
      'rpc.status_code': 'error',
    });
  });

  it('an unknown method makes no server span; the client span says unknown_method', async () => {
    await expect(client.call('nope')).rejects.toMatchObject({ remoteName: 'NameError' });
    const [callSpan] = await spansNamed(exporter, 'A/nope');
    expect(callSpan).toMatchObject({
      kind: SpanKind.CLIENT,
      status: { code: SpanStatusCode.ERROR },
      attributes: { 'error.type': 'unknown_method', 'rpc.status_code': 'unknown_method' },
    });
    expect(exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER)).toEqual([]);
  });

  it('a timeout: timed_out on the client; on the server, a call its caller cancelled', async () => {
    // The client cancels only a server that showed it is a zrpc server: a first call tells.
    await client.call('add', 0, 0);
    exporter.reset();
    await expect(client.withOptions({ timeoutMs: 200 }).call('wait', 10_000)).rejects.toMatchObject(
      {
        name: 'TimeoutError',
      },
    );
    const [callSpan, serverSpan] = await spansOfCall('wait');
    expect(callSpan).toMatchObject({
      status: { code: SpanStatusCode.ERROR },
      attributes: { 'error.type': 'timed_out', 'rpc.status_code': 'timed_out' },
    });
    // The client cancelled the call (_zpc_cancel): abandoned, not failed.
    expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(serverSpan.attributes['rpc.status_code']).toBe('cancelled');
    expect(Object.keys(serverSpan.attributes)).not.toContain('error.type');
  });
});
