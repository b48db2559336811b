import * as Sentry from '@sentry/node';
import { Client, RemoteError } from '@zrpc/client';
import type { ClientMiddleware } from '@zrpc/core';
import type { Server } from '@zrpc/server';
import { FakeClock, until as waitFor } from '@zrpc/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sentryServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { attr, SentryEndpoint, type SpanV2 } from './support/sentry-endpoint.js';
import { flushed, initSentry, startServer } from './support/zrpc.js';

let sentry: SentryEndpoint;
let server: Server;
let url: string;
let client: Client;
const servers: Server[] = [];

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  initSentry(sentry);
  ({ server, endpoint: url } = await startServer(appRegistry(), [
    sentryServer({
      serverName: 'billing',
      expected: ['NotFound'],
      captureArgs: true,
      scrubArgs: ([first, ...rest]) => [first, ...rest.map(() => '[scrubbed]')],
    }),
  ]));
  client = new Client({ endpoints: url });
});

beforeEach(async () => {
  await flushed();
  sentry.clear();
});

afterAll(async () => {
  await client.close();
  await Promise.all([server, ...servers].map((s) => s.close({ graceMs: 100 })));
  await Sentry.close(2000);
  await sentry.close();
});

function serverSpans(): SpanV2[] {
  return sentry.spans().filter((span) => attr(span, 'sentry.op') === 'rpc.server');
}

function onlyServerSpan(): SpanV2 {
  const spans = serverSpans();
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('errors', () => {
  it('captures a failing call once, with its tags, context and the name the caller sees', async () => {
    const error = await client.call('fail', 'bad input', 'hunter2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteName).toBe('ValueError');
    await flushed();

    const events = sentry.events();
    expect(events).toHaveLength(1);
    const event = events[0];
    const exception = event.exception.values.at(-1);
    expect(exception.type).toBe('ValueError'); // Sentry alone would say Error
    expect(exception.value).toBe('bad input');
    expect(exception.mechanism).toMatchObject({ type: 'auto.rpc.zerorpc.server', handled: false });
    expect(event.tags).toMatchObject({
      'rpc.system': 'zerorpc',
      'rpc.method': 'fail',
      'rpc.service': 'billing',
      'zerorpc.error': 'ValueError',
    });
    expect(event.tags['zerorpc.peer']).toMatch(/^[0-9a-f]{2,}$/);
    expect(event.contexts.zerorpc).toMatchObject({
      method: 'fail',
      service: 'billing',
      error: 'ValueError',
      stream: false,
      args: '["bad input","[scrubbed]"]',
    });

    // The handler's frame is the app's; zrpc's own frames (linked from the
    // workspace, so not under node_modules) are not in-app.
    const frames: Array<{ filename: string; in_app: boolean }> = exception.stacktrace.frames;
    const app = frames.filter((f) => f.filename.endsWith('/test/fixtures/app/rpcs.ts'));
    const zrpc = frames.filter((f) => /\/packages\/(server|core)\//.test(f.filename));
    expect(app.length).toBeGreaterThan(0);
    expect(app.every((f) => f.in_app)).toBe(true);
    expect(zrpc.length).toBeGreaterThan(0);
    expect(zrpc.every((f) => f.in_app === false)).toBe(true);

    const span = onlyServerSpan();
    expect(span.status).toBe('error');
    expect(attr(span, 'sentry.status.message')).toBe('internal_error');
    expect(attr(span, 'error.type')).toBe('ValueError');
    // The event belongs to the call's span.
    expect(event.contexts.trace.trace_id).toBe(span.trace_id);
    expect(event.contexts.trace.span_id).toBe(span.span_id);
  });

  it('captures an error once, even one the handler already reported', async () => {
    await client.call('report_and_fail', 'seen twice?').catch(() => {});
    await flushed();
    expect(sentry.events()).toHaveLength(1);
    expect(sentry.events()[0].exception.values.at(-1).value).toBe('seen twice?');
    // The handler's own event still carries the call's tags (its isolation scope).
    expect(sentry.events()[0].tags['rpc.method']).toBe('report_and_fail');
  });

  it('caps the arguments it sends', async () => {
    await client.call('fail', 'é'.repeat(3000)).catch(() => {});
    await flushed();
    const [event] = sentry.events();
    const args: string = event.contexts.zerorpc.args;
    expect(Buffer.byteLength(args)).toBeLessThanOrEqual(2048);
    expect(args.startsWith('["éé')).toBe(true);
    expect(args.endsWith('…')).toBe(true);
  });

  it('does not capture an expected error, and ends its span as invalid_argument', async () => {
    const error = await client.call('find', 7).catch((e: unknown) => e);
    expect((error as RemoteError).remoteName).toBe('NotFound');
    await flushed();
    expect(sentry.events()).toHaveLength(0);
    const span = onlyServerSpan();
    expect(span.status).toBe('error');
    expect(attr(span, 'sentry.status.message')).toBe('invalid_argument');
    expect(attr(span, 'error.type')).toBe('NotFound');
  });

  it('gives each call its own isolation scope', async () => {
    const results = await Promise.allSettled([
      client.call('tagged_fail', 'alice', 80),
      client.call('tagged_fail', 'bob', 20),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await flushed();
    const events = sentry.events();
    expect(events).toHaveLength(2);
    const byUser = Object.fromEntries(events.map((e) => [e.tags.user, e]));
    expect(byUser.alice.exception.values.at(-1).value).toBe('failed for alice');
    expect(byUser.bob.exception.values.at(-1).value).toBe('failed for bob');
    expect(byUser.alice.tags['rpc.method']).toBe('tagged_fail');
    // Nothing leaked into the scope outside the calls.
    expect(Sentry.getIsolationScope().getScopeData().tags.user).toBeUndefined();
    expect(Sentry.getIsolationScope().getScopeData().tags['rpc.method']).toBeUndefined();
  });
});

describe('spans', () => {
  it('makes one rpc.server span per call, with the RPC attributes, and leaves the result alone', async () => {
    expect(await client.call('add', 2, 3)).toBe(5);
    expect(await client.call('add', 4, 5)).toBe(9);
    await flushed();
    const spans = serverSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.name).toBe('billing/add');
      expect(span.status).toBe('ok');
      expect(span.is_segment).toBe(true);
      expect(attr(span, 'rpc.system')).toBe('zerorpc');
      expect(attr(span, 'rpc.method')).toBe('add');
      expect(attr(span, 'rpc.service')).toBe('billing');
      expect(attr(span, 'sentry.origin')).toBe('auto.rpc.zerorpc');
      expect(attr(span, 'zerorpc.stream')).toBe(false);
    }
    // A caller that sends no trace starts a new one per call.
    expect(spans[0]!.trace_id).not.toBe(spans[1]!.trace_id);
    expect(sentry.events()).toHaveLength(0);
  });

  it("covers a stream's whole life", async () => {
    const started = performance.now();
    const items: number[] = [];
    for await (const item of client.call('count', 3, 40)) items.push(item);
    const elapsed = (performance.now() - started) / 1000;
    expect(items).toEqual([0, 1, 2]);
    await flushed();
    const span = onlyServerSpan();
    expect(span.status).toBe('ok');
    expect(attr(span, 'zerorpc.stream')).toBe(true);
    // It lasted while the generator slept three times, and no longer than
    // the call took as the client saw it (durations: each on one clock).
    const duration = span.end_timestamp - span.start_timestamp;
    const slack = 0.005;
    expect(duration).toBeGreaterThanOrEqual(0.12 - slack);
    expect(duration).toBeLessThanOrEqual(elapsed + slack);
  });

  it('captures an error in the middle of a stream', async () => {
    const items: number[] = [];
    const error = await (async () => {
      for await (const item of client.call('count_then_fail', 2)) items.push(item);
    })().catch((e: unknown) => e);
    expect(items).toEqual([0, 1]);
    expect((error as RemoteError).remoteName).toBe('ValueError');
    await flushed();
    expect(sentry.events()).toHaveLength(1);
    expect(sentry.events()[0].contexts.zerorpc.stream).toBe(true);
    const span = onlyServerSpan();
    expect(attr(span, 'sentry.status.message')).toBe('internal_error');
  });
});

describe('transport conditions are span statuses, not crashes', () => {
  it('a caller lost in the middle of a call: cancelled (which Sentry counts as ok)', async () => {
    // The server on a fake clock: its client is lost when the test moves time.
    const clock = new FakeClock();
    const { server: quick, endpoint } = await startServer(appRegistry(), [sentryServer()], {
      heartbeatMs: 100,
      clock,
    });
    const leaving = new Client({ endpoints: endpoint, heartbeatMs: 100 });
    const call = leaving.call('wait', 5000).catch(() => {});
    await waitFor(() => quick.stats.running === 1);
    await leaving.close(); // its heartbeats stop: the server declares it lost
    await call;
    clock.advance(2 * 100);
    await waitFor(() => quick.stats.lostRemotes === 1);
    await clock.run(quick.close({ graceMs: 0 }));
    const span = await spanWhen((s) => attr(s, 'rpc.method') === 'wait');
    // Sentry's span protocol counts a cancelled span as ok and drops its
    // message; the RPC status and the error's name say what happened.
    expect(span.status).toBe('ok');
    expect(attr(span, 'rpc.response.status_code')).toBe('cancelled');
    // Its heartbeats lapsing (LostRemoteError) or a send finding it gone
    // (PeerGoneError, a LostRemoteError), whichever the server meets first.
    expect(['LostRemoteError', 'PeerGoneError']).toContain(attr(span, 'error.type'));
    expect(sentry.events()).toHaveLength(0);
  });

  it("a call its server's shutdown cancels: cancelled", async () => {
    const { server: closing, endpoint } = await startServer(appRegistry(), [sentryServer()]);
    const caller = new Client({ endpoints: endpoint });
    const call = caller.call('wait', 5000).catch((e: unknown) => e as RemoteError);
    await waitFor(() => closing.stats.running === 1);
    await closing.close({ graceMs: 50 });
    expect((await call).remoteName).toBe('ServerClosingError');
    await caller.close();
    const span = await spanWhen((s) => attr(s, 'rpc.method') === 'wait');
    expect(attr(span, 'rpc.response.status_code')).toBe('cancelled');
    expect(attr(span, 'error.type')).toBe('ServerClosingError');
    expect(sentry.events()).toHaveLength(0);
  });

  it('a call further down that times out: deadline_exceeded', async () => {
    const error = await client
      .call('relay', url, 'wait', [400], 50)
      .catch((e: unknown) => e as RemoteError);
    expect(error.remoteName).toBe('TimeoutError');
    await flushed();
    const relay = await spanWhen((s) => attr(s, 'rpc.method') === 'relay');
    expect(relay.status).toBe('error');
    expect(attr(relay, 'sentry.status.message')).toBe('deadline_exceeded');
    expect(attr(relay, 'rpc.response.status_code')).toBe('deadline_exceeded');
    expect(attr(relay, 'error.type')).toBe('TimeoutError');
    // The call it gave up on still runs to its end: wait for its span, so
    // that it does not arrive during the next test.
    await spanWhen((s) => attr(s, 'rpc.method') === 'wait');
    expect(sentry.events()).toHaveLength(0);
  });

  it('a server further down that is overloaded: resource_exhausted', async () => {
    const { server: busy, endpoint } = await startServer(appRegistry(), [], {
      concurrency: 1,
      queueLimit: 0,
    });
    servers.push(busy);
    const occupier = new Client({ endpoints: endpoint });
    const occupied = occupier.call('wait', 300);
    await waitFor(() => busy.stats.running === 1);
    const error = await client
      .call('relay', endpoint, 'add', [1, 2])
      .catch((e: unknown) => e as RemoteError);
    // The relay passed the downstream RemoteError on: the caller sees its name and message.
    expect(error.remoteName).toBe('RemoteError');
    expect(error.remoteMessage).toMatch(/^ServerBusyError: /);
    await occupied;
    await occupier.close();
    const relay = await spanWhen((s) => attr(s, 'rpc.method') === 'relay');
    expect(relay.status).toBe('error');
    expect(attr(relay, 'sentry.status.message')).toBe('resource_exhausted');
    expect(attr(relay, 'error.type')).toBe('RemoteError');
    expect(sentry.events()).toHaveLength(0);
  });
});

describe('trace header', () => {
  const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
  const PARENT_ID = 'b7ad6b7169203331';

  function clientSending(header: Record<string, unknown>): Client {
    const setHeader: ClientMiddleware = async (ctx, next) => {
      Object.assign(ctx.taskContext, header);
      await next();
    };
    return new Client({ endpoints: url, middleware: [setHeader] });
  }

  it('continues the trace a caller sends', async () => {
    const caller = clientSending({
      'sentry-trace': `${TRACE_ID}-${PARENT_ID}-1`,
      baggage: `sentry-trace_id=${TRACE_ID},sentry-sample_rate=1,sentry-sampled=true,other=kept`,
    });
    expect(await caller.call('add', 1, 1)).toBe(2);
    await caller.close();
    await flushed();
    const span = onlyServerSpan();
    expect(span.trace_id).toBe(TRACE_ID);
    expect(span.parent_span_id).toBe(PARENT_ID);
    expect(span.is_segment).toBe(true);
  });

  it('starts a new trace for a header it cannot read, and answers the call as usual', async () => {
    const headers = [
      { 'sentry-trace': 42, baggage: { not: 'a string' } },
      { 'sentry-trace': 'not-a-trace', baggage: ',,,=;' },
      { 'sentry-trace': 'x'.repeat(10_000) },
      { 'sentry-trace': new Uint8Array([0xff, 0xfe]) },
    ];
    for (const header of headers) {
      const caller = clientSending(header);
      expect(await caller.call('add', 2, 2)).toBe(4);
      await caller.close();
    }
    await flushed();
    const spans = serverSpans();
    expect(spans).toHaveLength(headers.length);
    for (const span of spans) {
      expect(span.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(span.parent_span_id).toBeUndefined();
      expect(span.status).toBe('ok');
    }
  });

  it('never makes a call the child of a span that was active where the server started', async () => {
    const { server: started, endpoint } = await Sentry.startSpan({ name: 'boot' }, () =>
      startServer(appRegistry(), [sentryServer()]),
    );
    servers.push(started);
    const caller = new Client({ endpoints: endpoint });
    expect(await caller.call('add', 1, 2)).toBe(3);
    await caller.close();
    await flushed();
    const boot = sentry.spans().find((s) => s.name === 'boot')!;
    const span = onlyServerSpan();
    expect(span.parent_span_id).toBeUndefined();
    expect(span.trace_id).not.toBe(boot.trace_id);
    expect(span.is_segment).toBe(true);
  });

  it('takes a trace sent as msgpack bin', async () => {
    const caller = clientSending({
      'sentry-trace': new TextEncoder().encode(`${TRACE_ID}-${PARENT_ID}-1`),
    });
    expect(await caller.call('add', 0, 0)).toBe(0);
    await caller.close();
    await flushed();
    expect(onlyServerSpan().trace_id).toBe(TRACE_ID);
  });
});

/** Flush until a server span matching `match` has arrived. */
async function spanWhen(match: (span: SpanV2) => boolean, timeoutMs = 5000): Promise<SpanV2> {
  let span: SpanV2 | undefined;
  await waitFor(
    async () => {
      await flushed();
      span = serverSpans().find(match);
      return span !== undefined;
    },
    timeoutMs,
    'the span',
  );
  return span!;
}
