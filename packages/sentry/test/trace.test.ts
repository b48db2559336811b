import * as Sentry from '@sentry/node';
import { type RemoteError, RPCClient } from '@zrpc/client';
import type { ClientMiddleware } from '@zrpc/core';
import { until } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { sentryClient } from '../src/index.js';
import { attr, type SpanV2 } from './support/sentry-endpoint.js';
import { flushed, twoServicesPerFile } from './support/zrpc.js';

// A client calls server A, whose handler (`relay`) calls server B: three
// services' spans over real sockets, all in one trace.
const services = twoServicesPerFile();

function span(op: string, name: string): SpanV2 {
  const found = services.sentry
    .spans()
    .filter((s) => attr(s, 'sentry.op') === op && s.name === name);
  expect(found, `${op} ${name}`).toHaveLength(1);
  return found[0]!;
}

/** The four spans of client → A.relay → B.method. */
function chain(method: string) {
  return {
    client: span('rpc.client', 'A/relay'),
    serverA: span('rpc.server', 'A/relay'),
    clientA: span('rpc.client', `B/${method}`),
    serverB: span('rpc.server', `B/${method}`),
  };
}

describe('a client → server → server chain', () => {
  it('shares one trace, each span the child of the one that called it', async () => {
    expect(await services.rpc.call('relay', services.endpointB, 'add', [1, 2])).toBe(3);
    await flushed();
    const { client, serverA, clientA, serverB } = chain('add');

    const traceId = client.trace_id;
    for (const s of [serverA, clientA, serverB]) expect(s.trace_id).toBe(traceId);
    expect(client.parent_span_id).toBeUndefined();
    expect(client.is_segment).toBe(true);
    expect(serverA.parent_span_id).toBe(client.span_id);
    expect(serverA.is_segment).toBe(true); // the entry of service A
    // A's handler inherited the header that named the outer client span;
    // its own client span replaced it.
    expect(clientA.parent_span_id).toBe(serverA.span_id);
    expect(serverB.parent_span_id).toBe(clientA.span_id);
    for (const s of [client, serverA, clientA, serverB]) expect(s.status).toBe('ok');
    expect(attr(client, 'rpc.system')).toBe('zerorpc');
    expect(attr(client, 'rpc.method')).toBe('relay');
    expect(attr(client, 'rpc.service')).toBe('A');

    // The sampling decision travelled in the baggage: B's envelopes carry the root's.
    const dsc = services.sentry.envelopes
      .filter((e) => e.items.some((i) => i.header.type === 'span'))
      .map((e) => e.header.trace);
    expect(new Set(dsc.map((t) => t.trace_id))).toEqual(new Set([traceId]));
    expect(new Set(dsc.map((t) => t.sample_rand)).size).toBe(1);
  });

  it('keeps other vendors’ baggage entries while replacing Sentry’s', async () => {
    const otherBaggage: ClientMiddleware = async (ctx, next) => {
      ctx.taskContext.baggage = 'congo=t61rcWkgMzE,sentry-trace_id=stale';
      await next();
    };
    const client = new RPCClient({
      endpoints: services.endpointA,
      middleware: [otherBaggage, sentryClient({ service: 'A' })],
    });
    expect(await client.call('relay', services.endpointB, 'add', [2, 2])).toBe(4);
    await client.close();
    await flushed();
    const { clientA } = chain('add');
    const [header] = services.headersAtB;
    const entries = String(header!.baggage).split(',');
    expect(entries.filter((e) => e === 'congo=t61rcWkgMzE')).toHaveLength(1);
    expect(entries).toContain(`sentry-trace_id=${clientA.trace_id}`);
    expect(entries).not.toContain('sentry-trace_id=stale');
    expect(header!['sentry-trace']).toBe(`${clientA.trace_id}-${clientA.span_id}-1`);
  });

  it('links the errors of every service to the trace, with the calls as breadcrumbs', async () => {
    const error = await services.rpc
      .call('relay', services.endpointB, 'fail', ['deep'])
      .catch((e: unknown) => e as RemoteError);
    // A passed B's RemoteError on.
    expect(error.remoteName).toBe('RemoteError');
    expect(error.remoteMessage).toBe('ValueError: deep');
    await flushed();
    const { client, serverA, clientA, serverB } = chain('fail');

    const events = services.sentry.events();
    expect(events).toHaveLength(2);
    const atB = events.find((e) => e.tags['rpc.service'] === 'B');
    const atA = events.find((e) => e.tags['rpc.service'] === 'A');
    expect(atB.exception.values.at(-1)).toMatchObject({ type: 'ValueError', value: 'deep' });
    expect(atA.exception.values.at(-1)).toMatchObject({
      type: 'RemoteError',
      value: 'ValueError: deep',
    });
    expect(atB.contexts.trace).toMatchObject({
      trace_id: client.trace_id,
      span_id: serverB.span_id,
    });
    expect(atA.contexts.trace).toMatchObject({
      trace_id: client.trace_id,
      span_id: serverA.span_id,
    });

    // A's event has the breadcrumb of its call to B.
    const crumbs = atA.breadcrumbs.filter((b: any) => b.category === 'rpc');
    expect(crumbs).toHaveLength(1);
    expect(crumbs[0]).toMatchObject({
      message: 'B/fail',
      level: 'error',
      data: { 'rpc.method': 'fail', 'rpc.service': 'B', status: 'internal_error' },
    });
    expect(crumbs[0].data['error.type']).toBe('ValueError');

    expect(attr(clientA, 'sentry.status.message')).toBe('internal_error');
    expect(attr(clientA, 'error.type')).toBe('ValueError');
    expect(attr(client, 'error.type')).toBe('RemoteError');
    for (const s of [client, serverA, clientA, serverB]) expect(s.status).toBe('error');
  });

  it('makes a client span the child of the span active around the call', async () => {
    const job = await Sentry.startSpan({ name: 'nightly job', op: 'task' }, async (active) => {
      expect(await services.rpc.call('add', 1, 1)).toBe(2);
      return active.spanContext().spanId;
    });
    await flushed();
    const client = span('rpc.client', 'A/add');
    expect(client.parent_span_id).toBe(job);
    expect(client.is_segment).toBe(false);
    expect(span('rpc.server', 'A/add').parent_span_id).toBe(client.span_id);
  });
});

describe('client spans and breadcrumbs', () => {
  it('a stream: the span lasts until the consumer is done with it', async () => {
    const started = performance.now();
    const items: number[] = [];
    for await (const item of services.rpc.call('count', 3, 20)) items.push(item);
    const elapsed = (performance.now() - started) / 1000;
    expect(items).toEqual([0, 1, 2]);
    await flushed();
    const client = span('rpc.client', 'A/count');
    const server = span('rpc.server', 'A/count');
    expect(client.status).toBe('ok');
    // Not over at the first item: it covers the three sleeps and the server's span.
    const duration = client.end_timestamp - client.start_timestamp;
    expect(duration).toBeGreaterThanOrEqual(0.06 - 0.005);
    expect(duration).toBeLessThanOrEqual(elapsed + 0.005);
    expect(client.end_timestamp).toBeGreaterThanOrEqual(server.end_timestamp);
  });

  it('a stream left early, and one that fails', async () => {
    for await (const item of services.rpc.call('count', 5, 1)) if (item === 1) break;
    const seen: number[] = [];
    await (async () => {
      for await (const item of services.rpc.call('count_then_fail', 2)) seen.push(item);
    })().catch(() => {});
    expect(seen).toEqual([0, 1]);
    await flushed();
    const left = span('rpc.client', 'A/count');
    expect(left.status).toBe('ok');
    const failed = span('rpc.client', 'A/count_then_fail');
    expect(failed.status).toBe('error');
    expect(attr(failed, 'error.type')).toBe('ValueError');
  });

  it('records each call as a breadcrumb, and a timeout as deadline_exceeded', async () => {
    const eventId = await Sentry.withIsolationScope(async (scope) => {
      scope.clearBreadcrumbs(); // a fork starts with the breadcrumbs of the earlier tests
      await services.rpc.call('add', 1, 2);
      await services.rpc.call('find', 9).catch(() => {});
      await services.rpc
        .withOptions({ timeoutMs: 50 })
        .call('wait', 200)
        .catch(() => {});
      return Sentry.captureMessage('after three calls');
    });
    await flushed();
    const event = services.sentry.events().find((e) => e.event_id === eventId);
    const crumbs = event.breadcrumbs.filter((b: any) => b.category === 'rpc');
    expect(crumbs.map((b: any) => [b.message, b.level, b.data.status])).toEqual([
      ['A/add', 'info', 'ok'],
      ['A/find', 'error', 'internal_error'],
      ['A/wait', 'error', 'deadline_exceeded'],
    ]);
    const timedOut = span('rpc.client', 'A/wait');
    expect(attr(timedOut, 'sentry.status.message')).toBe('deadline_exceeded');
    expect(attr(timedOut, 'error.type')).toBe('TimeoutError');
    // Let the abandoned server call end before the next test.
    await until(
      () => services.servers.every((server) => server.stats.running === 0),
      5000,
      'the abandoned call to end',
    );
  });
});
