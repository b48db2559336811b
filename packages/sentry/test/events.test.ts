/**
 * @zrpc/sentry's middleware, unchanged, on one-way events: a Pusher with
 * `sentryClient` into a Puller with `sentryServer`. A failing event handler
 * is captured once (nobody else hears of it: there is no reply), in the
 * trace the pusher started.
 */
import * as Sentry from '@sentry/node';
import { Pusher } from '@zrpc/client';
import { Puller } from '@zrpc/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sentryClient, sentryServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { attr, SentryEndpoint } from './support/sentry-endpoint.js';
import { flushed, initSentry } from './support/zrpc.js';

const silent = { info() {}, warn() {}, error() {} };
let sentry: SentryEndpoint;
let puller: Puller;
let pusher: Pusher;

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  initSentry(sentry);
  puller = new Puller({
    registry: appRegistry(),
    middleware: [sentryServer({ serverName: 'worker' })],
    logger: silent,
  });
  await puller.bind('tcp://127.0.0.1:*');
  pusher = new Pusher({
    endpoints: puller.endpoints,
    middleware: [sentryClient({ service: 'worker' })],
  });
});

beforeEach(async () => {
  await flushed();
  sentry.clear();
});

afterAll(async () => {
  await pusher.close();
  await puller.close({ graceMs: 100 });
  await Sentry.close(2000);
  await sentry.close();
});

/** Wait until the puller has ended `n` events, then until Sentry has sent what they made. */
async function ended(n: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (puller.stats.ok + puller.stats.failed < n) {
    if (performance.now() > deadline) throw new Error('the events did not end');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await flushed();
}

describe('events through the Sentry middleware', () => {
  it('captures a failing event handler once, in the trace the pusher started', async () => {
    const before = puller.stats.ok + puller.stats.failed;
    await pusher.push('fail', 'bad input');
    await ended(before + 1);

    const events = sentry.events();
    expect(events).toHaveLength(1);
    const [event] = events;
    const exception = event.exception.values.at(-1);
    expect(exception).toMatchObject({ type: 'ValueError', value: 'bad input' });
    expect(exception.mechanism).toMatchObject({ type: 'auto.rpc.zerorpc.server', handled: false });
    expect(event.tags).toMatchObject({ 'rpc.method': 'fail', 'rpc.service': 'worker' });

    const server = sentry.spans().find((s) => attr(s, 'sentry.op') === 'rpc.server')!;
    const client = sentry.spans().find((s) => attr(s, 'sentry.op') === 'rpc.client')!;
    expect(server.status).toBe('error');
    expect(attr(server, 'error.type')).toBe('ValueError');
    // The pusher's span is the parent: the trace crossed in the event's header.
    expect(server.trace_id).toBe(client.trace_id);
    expect(server.parent_span_id).toBe(client.span_id);
    expect(event.contexts.trace.trace_id).toBe(client.trace_id);
  });

  it('an event that succeeds is a span, and no error event', async () => {
    const before = puller.stats.ok + puller.stats.failed;
    await pusher.push('add', 1, 2);
    await ended(before + 1);
    expect(sentry.events()).toHaveLength(0);
    const server = sentry.spans().find((s) => attr(s, 'sentry.op') === 'rpc.server')!;
    expect(server.status).toBe('ok');
    expect(attr(server, 'rpc.method')).toBe('add');
  });
});
