import * as Sentry from '@sentry/node';
import { RPCClient } from '@zrpc/client';
import type { EventHeader, ServerMiddleware } from '@zrpc/core';
import type { Server } from '@zrpc/server';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { sentryClient, sentryServer } from '../../src/index.js';
import { appRegistry } from '../fixtures/app/rpcs.js';
import { SentryEndpoint } from './sentry-endpoint.js';
import { flushed, initSentry, startServer } from './zrpc.js';

/**
 * The tests for a Sentry that sends no spans (`tracesSampleRate` 0, or no
 * tracing at all): calls answer as usual, errors are still captured, and
 * the trace still travels, so the events of every service share one trace.
 */
export function errorsOnlyTests(
  options: Sentry.NodeOptions,
  /** The sampled flag the `sentry-trace` header ends with ('' for none). */
  sampledFlag: '-0' | '',
): void {
  let sentry: SentryEndpoint;
  let serverA: Server;
  let serverB: Server;
  let endpointA: string;
  let endpointB: string;
  let rpc: RPCClient;
  const headersAtB: EventHeader[] = [];

  beforeAll(async () => {
    sentry = await SentryEndpoint.start();
    initSentry(sentry, options);
    const recordHeader: ServerMiddleware = async (ctx, next) => {
      headersAtB.push(ctx.header);
      await next();
    };
    ({ server: serverB, endpoint: endpointB } = await startServer(appRegistry(), [
      sentryServer({ serverName: 'B' }),
      recordHeader,
    ]));
    ({ server: serverA, endpoint: endpointA } = await startServer(
      appRegistry([sentryClient({ service: 'B' })]),
      [sentryServer({ serverName: 'A' })],
    ));
    rpc = new RPCClient({ endpoints: endpointA, middleware: [sentryClient({ service: 'A' })] });
  });

  beforeEach(async () => {
    await flushed();
    sentry.clear();
    headersAtB.length = 0;
  });

  afterAll(async () => {
    await rpc.close();
    await Promise.all([serverA.close({ graceMs: 100 }), serverB.close({ graceMs: 100 })]);
    await Sentry.close(2000);
    await sentry.close();
  });

  it('answers calls as usual and sends no span', async () => {
    expect(await rpc.call('relay', endpointB, 'add', [1, 2])).toBe(3);
    const items: number[] = [];
    for await (const item of rpc.call('count', 3, 1)) items.push(item);
    expect(items).toEqual([0, 1, 2]);
    await flushed();
    expect(sentry.items('span')).toHaveLength(0);
    expect(sentry.items('transaction')).toHaveLength(0);
    expect(sentry.events()).toHaveLength(0);
  });

  it('captures the errors of every service in one trace', async () => {
    await expect(rpc.call('relay', endpointB, 'fail', ['deep'])).rejects.toMatchObject({
      remoteName: 'RemoteError',
    });
    await flushed();
    const events = sentry.events();
    expect(events.map((e) => e.tags['rpc.service']).sort()).toEqual(['A', 'B']);
    const traceIds = new Set(events.map((e) => e.contexts.trace.trace_id));
    expect(traceIds.size).toBe(1);
    const [traceId] = traceIds;
    // B got the trace in its request header, as A's call carried it on.
    const sentryTrace = String(headersAtB[0]?.['sentry-trace']);
    expect(sentryTrace).toMatch(new RegExp(`^${traceId}-[0-9a-f]{16}${sampledFlag}$`));
    expect(String(headersAtB[0]?.baggage)).toContain(`sentry-trace_id=${traceId}`);
    expect(sentry.items('span')).toHaveLength(0);
  });
}
