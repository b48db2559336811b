import type { Client, RemoteStream } from '@zrpc/client';
import type { ClientMiddleware, EventHeader } from '@zrpc/core';
import { beforeEach, expect, it } from 'vitest';
import { otelClient, otelServer } from '../src/index.js';
import {
  recordHeaders,
  registerSdk,
  relayPairPerFile,
  spansNamed,
  unregisterSdk,
} from './support/tracing.js';

// Only the API, no SDK registered (what a library user may run): the
// middleware changes nothing, adds nothing to the header, and passes a
// caller's trace on untouched. An SDK registered later is used at once.

const headersAtB: EventHeader[] = [];
const pair = relayPairPerFile({
  a: [otelServer()],
  relay: [otelClient()],
  b: [otelServer(), recordHeaders(headersAtB)],
});

beforeEach(() => {
  headersAtB.length = 0;
});

/** Everything a caller gets from a few calls: values, errors, stream items. */
async function outcomes(client: Client): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of (await client.call('count', 3, 1)) as RemoteStream<number>) {
    items.push(item);
  }
  const settle = (p: Promise<unknown>) =>
    p.then(
      (value) => ({ value }),
      (error: { name: string; remoteName?: string; message: string }) => ({
        error: [error.name, error.remoteName, error.message],
      }),
    );
  return [
    await settle(client.call('add', 2, 3)),
    await settle(client.call('fail', 'no')),
    await settle(client.call('find', 1)),
    await settle(client.call('nope')),
    items,
  ];
}

it('calls give the same results, errors and streams with and without the middleware', async () => {
  const plain = await outcomes(pair.client(pair.endpointB, []));
  const traced = await outcomes(pair.client(pair.endpointB, [otelClient()]));
  expect(traced).toEqual(plain);
  expect(plain[0]).toEqual({ value: 5 });
});

it('adds nothing to the request header', async () => {
  await pair.client(pair.endpointB, []).call('add', 1, 1);
  await pair.client(pair.endpointB, [otelClient()]).call('add', 1, 1);
  expect(Object.keys(headersAtB[1]!).sort()).toEqual(Object.keys(headersAtB[0]!).sort());
});

it("passes a caller's trace on untouched", async () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const setTrace: ClientMiddleware = async (ctx, next) => {
    ctx.taskContext.traceparent = traceparent;
    await next();
  };
  expect(
    await pair.client(pair.endpointA, [setTrace]).call('relay', pair.endpointB, 'add', [1, 2]),
  ).toBe(3);
  expect(headersAtB[0]!.traceparent).toBe(traceparent);
});

it('uses an SDK registered after the middleware was made, without a restart', async () => {
  const sdk = registerSdk();
  try {
    expect(
      await pair
        .client(pair.endpointA, [otelClient()])
        .call('relay', pair.endpointB, 'add', [1, 2]),
    ).toBe(3);
    const spans = await spansNamed(sdk.exporter, 'add', 2);
    expect(spans).toHaveLength(2);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(headersAtB[0]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  } finally {
    await unregisterSdk(sdk.provider);
  }
});
