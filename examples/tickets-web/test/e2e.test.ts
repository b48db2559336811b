/**
 * The pair end to end, as processes: the tickets provider (on a fresh
 * SQLite file, created, migrated and seeded at start) and the HTTP service
 * on real loopback ports; real HTTP requests; both stopped with SIGTERM,
 * which must end them cleanly (exit code 0).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Started, startProvider, startWeb } from '../processes.js';

let dir: string;
let provider: Started;
let web: Started;

beforeAll(async () => {
  dir = mkdtempSync('/tmp/zrpc-tickets-');
  provider = await startProvider({ env: { DATABASE_URL: `file:${join(dir, 'tickets.db')}` } });
  web = await startWeb(provider.address, { env: { POOL_MAX: '4' } });
}, 90_000);

afterAll(async () => {
  await web?.stop();
  await provider?.stop();
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
      body: { error: 'ValueError', message: 'a ticket needs a title' },
    });
    const created = await request('POST', '/tickets', { title: 'Coffee machine leaks' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Coffee machine leaks', status: 'open' });
    const closed = await request('POST', `/tickets/${created.body.id}/close`);
    expect(closed.body).toMatchObject({ id: created.body.id, status: 'closed' });
    expect((await request('GET', `/tickets/${created.body.id}`)).body.status).toBe('closed');
  });

  it('200 concurrent requests share a pool of 4 connections, and all are answered', async () => {
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
