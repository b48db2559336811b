import type * as Sentry from '@sentry/node';
import { expect, it } from 'vitest';
import { flushed, twoServicesPerFile } from './zrpc.js';

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
  const services = twoServicesPerFile(options);

  it('answers calls as usual and sends no span', async () => {
    expect(await services.rpc.call('relay', services.endpointB, 'add', [1, 2])).toBe(3);
    const items: number[] = [];
    for await (const item of services.rpc.call('count', 3, 1)) items.push(item);
    expect(items).toEqual([0, 1, 2]);
    await flushed();
    expect(services.sentry.items('span')).toHaveLength(0);
    expect(services.sentry.items('transaction')).toHaveLength(0);
    expect(services.sentry.events()).toHaveLength(0);
  });

  it('captures the errors of every service in one trace', async () => {
    await expect(
      services.rpc.call('relay', services.endpointB, 'fail', ['deep']),
    ).rejects.toMatchObject({
      remoteName: 'RemoteError',
    });
    await flushed();
    const events = services.sentry.events();
    expect(events.map((e) => e.tags['rpc.service']).sort()).toEqual(['A', 'B']);
    const traceIds = new Set(events.map((e) => e.contexts.trace.trace_id));
    expect(traceIds.size).toBe(1);
    const [traceId] = traceIds;
    // B got the trace in its request header, as A's call carried it on.
    const sentryTrace = String(services.headersAtB[0]?.['sentry-trace']);
    expect(sentryTrace).toMatch(new RegExp(`^${traceId}-[0-9a-f]{16}${sampledFlag}$`));
    expect(String(services.headersAtB[0]?.baggage)).toContain(`sentry-trace_id=${traceId}`);
    expect(services.sentry.items('span')).toHaveLength(0);
  });
}
