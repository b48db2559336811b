/**
 * The README's main job (`npm start`): start the tickets provider (on a
 * fresh SQLite file, unless DATABASE_URL names a database) and the HTTP
 * service as two processes, then, over HTTP, read a ticket (a call), list
 * tickets (a stream), ask for one that does not exist (an error), create
 * and close one (atomic writes) and see the provider's `ticket_created`
 * event arrive, and send a burst of concurrent requests that the pool (at
 * most 8 calls in flight) serves. Both processes are
 * stopped with SIGTERM at the end. What it prints is the root README's
 * transcript; the processes' own output is shown only if something fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Started, startProvider, startWeb } from './processes.js';

const database = mkdtempSync(join(tmpdir(), 'zrpc-tickets-demo-'));
const started: Array<[string, Started]> = [];
let failed = true;
try {
  // Verbosity 0: the provider logs failed calls only, and the demo asks for one on purpose.
  const provider = await startProvider({
    args: ['--verbosity', '0'],
    env: { DATABASE_URL: process.env.DATABASE_URL || `file:${join(database, 'tickets.db')}` },
  });
  started.push(['provider', provider]);
  const web = await startWeb(provider.address, {
    env: { POOL_MAX: '8' },
    events: provider.events,
  });
  started.push(['web', web]);
  console.log(`tickets provider on ${provider.address}, tickets-web on ${web.address}`);
  await tour(web.address);
  const webCode = await web.stop();
  const providerCode = await provider.stop();
  console.log(`stopped with SIGTERM: web exited ${webCode}, provider exited ${providerCode}`);
  failed = webCode !== 0 || providerCode !== 0;
} finally {
  for (const [, child] of started) await child.stop();
  if (failed) {
    for (const [name, child] of started)
      console.log(`\n--- what ${name} printed:\n${child.output()}`);
  }
  rmSync(database, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

/** The requests, each printed as one line with what it shows. */
async function tour(base: string): Promise<void> {
  const ticket = await request(base, 'GET', '/tickets/1', 'a call: get_ticket(1)');
  console.log(`  ${abridged(JSON.stringify(ticket.body))}`);
  const list = await request(base, 'GET', '/tickets?n=5', 'a stream: ticket_list(5), item by item');
  const ids = (list.body as Array<{ id: number }>).map((t) => t.id);
  console.log(`  tickets ${ids.join(', ')}, newest first`);
  const missing = await request(
    base,
    'GET',
    '/tickets/9999',
    "an error: the provider's DoesNotExist",
  );
  console.log(`  ${JSON.stringify(missing.body)}`);
  const created = await fetchJson(base, 'POST', '/tickets', {
    title: 'Printer on floor 3 is jammed',
  });
  const id = (created.body as { id: number }).id;
  const closed = await fetchJson(base, 'POST', `/tickets/${id}/close`);
  console.log(
    note(
      `POST /tickets -> ${created.status}, POST /tickets/${id}/close -> ${closed.status}`,
      'atomic writes',
    ),
  );
  await heard(base, id);
  await burst(base);
}

/** Wait (5 s at most) until the web service heard `ticket_created` for ticket `id`, and say so. */
async function heard(base: string, id: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const { body } = await fetchJson(base, 'GET', '/events');
    const events = body as Array<{ event: string; ticket: { id: number } }>;
    if (events.some((e) => e.event === 'ticket_created' && e.ticket.id === id)) {
      const ms = (performance.now() - started).toFixed(0);
      const line = `GET /events -> ticket_created #${id} (${ms} ms)`;
      console.log(note(line, 'an event: published once committed, heard by the web'));
      return;
    }
    if (performance.now() - started > 5000) throw new Error(`ticket_created #${id} not heard`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** 400 requests, 64 at a time, over a pool of at most 8 calls in flight. */
async function burst(base: string): Promise<void> {
  const total = 400;
  const concurrency = 64;
  let next = 0;
  let peakPending = 0;
  let peakBorrowed = 0;
  const sampler = setInterval(async () => {
    const stats = (await (await fetch(`${base}/pool`)).json()) as {
      borrowed: number;
      pending: number;
    };
    peakPending = Math.max(peakPending, stats.pending);
    peakBorrowed = Math.max(peakBorrowed, stats.borrowed);
  }, 20);
  const started = performance.now();
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const id = (next++ % 25) + 1;
        const response = await fetch(`${base}/tickets/${id}`);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const counts = [...statuses].map(([status, n]) => `${n} x ${status}`).join(', ');
  console.log(
    `${total} GET /tickets/:id, ${concurrency} at a time: ${counts} in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} requests/s)`,
  );
  console.log(
    `  the pool (max 8) had up to ${peakBorrowed} call(s) in flight; up to ${peakPending} request(s) waited for a place at a time`,
  );
}

async function request(base: string, method: string, path: string, what: string) {
  const started = performance.now();
  const response = await fetchJson(base, method, path);
  const ms = (performance.now() - started).toFixed(0);
  console.log(note(`${method} ${path} -> ${response.status} (${ms} ms)`, what));
  return response;
}

async function fetchJson(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

/** A line, then what it shows, in a column. */
function note(line: string, what: string): string {
  return `${line}${' '.repeat(Math.max(2, 44 - line.length))}${what}`;
}

function abridged(text: string): string {
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}
