/**
 * The pair end to end, as processes: the tickets provider (on a fresh
 * SQLite file, created, migrated and seeded at start) and the HTTP service
 * on real loopback ports; real HTTP requests; both stopped with SIGTERM,
 * which must end them cleanly (exit code 0). Both report to Sentry: a local
 * endpoint stands in for Sentry's ingest (the DSN points at it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The Sentry stand-in of @zrpc/sentry's tests (a private test helper, shared in the repo).
import { SentryEndpoint } from '../../../packages/sentry/test/support/sentry-endpoint.js';
import { type Started, startProvider, startWeb } from '../processes.js';

let dir: string;
let provider: Started;
let web: Started;
let sentry: SentryEndpoint;

beforeAll(async () => {
  dir = mkdtempSync('/tmp/zrpc-tickets-');
  sentry = await SentryEndpoint.start();
  provider = await startProvider({
    env: {
      DATABASE_URL: `file:${join(dir, 'tickets.db')}`,
      SENTRY_DSN: sentry.dsn,
      SENTRY_TRACES_SAMPLE_RATE: '1',
    },
  });
  // A long call timeout: a loaded machine must not turn a wait for the pool into a 503 here.
  web = await startWeb(provider.address, {
    env: {
      POOL_MAX: '4',
      SENTRY_DSN: sentry.dsn,
      SENTRY_TRACES_SAMPLE_RATE: '1',
      RPC_TIMEOUT_MS: '30000',
    },
    events: provider.events,
  });
}, 90_000);

afterAll(async () => {
  await web?.stop();
  await provider?.stop();
  await sentry?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function request(method: string, path: string, body?: unknown) {
  const response = await fetch(`${web.address}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('tickets over HTTP, through the pool, from the provider', () => {
  it('the provider created, migrated and seeded its database on first start', () => {
    expect(provider.output()).toMatch(
      /database \(sqlite\): applied 1 migration\(s\), seeded 25 ticket\(s\)/,
    );
  });

  it('GET /tickets/:id is a get_ticket call', async () => {
    const { status, body } = await request('GET', '/tickets/1');
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 1, title: 'Login page times out', status: 'open' });
    expect(new Date(body.created).toISOString()).toBe(body.created);
  });

  it('GET /tickets?n= is the ticket_list stream, newest first', async () => {
    const { status, body } = await request('GET', '/tickets?n=30');
    expect(status).toBe(200);
    expect(body.map((ticket: { id: number }) => ticket.id)).toEqual(
      Array.from({ length: 25 }, (_, i) => 25 - i),
    );
    expect((await request('GET', '/tickets?n=3')).body).toHaveLength(3);
  });

  it("a missing ticket is the provider's DoesNotExist, as a 404", async () => {
    expect(await request('GET', '/tickets/9999')).toEqual({
      status: 404,
      body: { error: 'DoesNotExist', message: 'Ticket matching query does not exist.' },
    });
    expect((await request('GET', '/tickets/abc')).status).toBe(400);
  });

  it('POST /tickets creates (atomic on the provider), POST /tickets/:id/close closes', async () => {
    expect(await request('POST', '/tickets', {})).toEqual({
      status: 400,
      body: { error: 'ValueError', message: 'a ticket needs a title, got ""' },
    });
    const created = await request('POST', '/tickets', { title: 'Coffee machine leaks' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Coffee machine leaks', status: 'open' });
    const closed = await request('POST', `/tickets/${created.body.id}/close`);
    expect(closed.body).toMatchObject({ id: created.body.id, status: 'closed' });
    expect((await request('GET', `/tickets/${created.body.id}`)).body.status).toBe('closed');
  });

  it('a created ticket is published (once committed) and heard by the web; a refused one is not', async () => {
    expect(provider.events).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    // A subscriber hears what is published once its subscription reached the publisher:
    // create tickets until one is heard (the first usually is).
    const heardIds = async () =>
      ((await request('GET', '/events')).body as Array<{ ticket: { id: number } }>).map(
        (event) => event.ticket.id,
      );
    let first: number | undefined;
    for (let i = 0; i < 10 && first === undefined; i++) {
      const { body } = await request('POST', '/tickets', { title: `Heard? ${i}` });
      await expect
        .poll(heardIds, { timeout: 2000 })
        .toContain(body.id)
        .catch(() => {});
      if ((await heardIds()).includes(body.id)) first = body.id;
    }
    expect(first).toBeDefined();

    expect((await request('POST', '/tickets', { title: '' })).status).toBe(400);
    const created = await request('POST', '/tickets', {
      title: 'Projector bulb',
      description: 'Room 4',
    });
    await expect.poll(heardIds, { timeout: 10_000 }).toContain(created.body.id);
    const events = (await request('GET', '/events')).body;
    const heard = events.find(
      (event: { ticket: { id: number } }) => event.ticket.id === created.body.id,
    );
    expect(heard).toMatchObject({ event: 'ticket_created', ticket: created.body });
    // Nothing was published for the refused one: ids heard since the first are the ones created.
    const since = (await heardIds()).filter((id) => id >= first!);
    expect(since).toEqual([first, created.body.id]);
  });

  it("the provider's errors reach Sentry, in the web service's trace; a missing ticket does not", async () => {
    sentry.clear();
    await request('GET', '/tickets/9999');
    // Another message than the earlier test's: Sentry drops an event identical to the one before.
    await request('POST', '/tickets', { title: ' ' });
    await expect
      .poll(() => sentry.events().map((event) => event.exception?.values?.[0]?.type), {
        timeout: 10_000,
      })
      .toEqual(['ValueError']);
    const [event] = sentry.events();
    expect(event.tags).toMatchObject({ 'rpc.method': 'create_ticket', 'rpc.service': 'tickets' });
    // The web service's client span and the provider's server span share the event's trace.
    await expect
      .poll(
        () =>
          sentry
            .spans()
            .filter((span) => span.trace_id === event.contexts.trace.trace_id)
            .map((span) => span.attributes['sentry.op']?.value ?? span.name)
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual(expect.arrayContaining(['rpc.client', 'rpc.server']));
  });

  it('200 concurrent requests share a pool of 4 places (calls in flight), and all are answered', async () => {
    let peak = 0;
    const sampler = setInterval(async () => {
      peak = Math.max(peak, (await request('GET', '/pool')).body.size);
    }, 10);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request('GET', `/tickets/${(i % 25) + 1}`)),
    );
    clearInterval(sampler);
    expect(answers.map((answer) => answer.status)).toEqual(Array(200).fill(200));
    expect(answers.map((answer) => answer.body.id)).toEqual(
      Array.from({ length: 200 }, (_, i) => (i % 25) + 1),
    );
    const pool = (await request('GET', '/pool')).body;
    expect(Math.max(peak, pool.size)).toBeLessThanOrEqual(4);
    expect(pool.pending).toBe(0);
  });

  it('both stop cleanly on SIGTERM', async () => {
    expect(await web.stop()).toBe(0);
    expect(await provider.stop()).toBe(0);
  });
});
