/**
 * The README's main job (`npm start`): start the tickets provider and the
 * HTTP service as two processes, then, over HTTP, read a ticket (a call),
 * list tickets (a stream), ask for one that does not exist (an error),
 * create one and see the provider's `ticket_created` event arrive, and
 * send a burst of concurrent requests that the pool (at most 8 calls in
 * flight) serves. Both processes are stopped with SIGTERM at the end.
 */
import { startProvider, startWeb } from './processes.js';

const prefix = (name: string) => (line: string) => console.log(`  [${name}] ${line}`);

const provider = await startProvider({ onLine: prefix('provider') });
const web = await startWeb(provider.address, {
  onLine: prefix('web'),
  env: { POOL_MAX: '8' },
  events: provider.events,
});
const base = web.address;

async function show(method: string, path: string, body?: unknown): Promise<unknown> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  const text = JSON.stringify(data);
  const ms = (performance.now() - started).toFixed(0);
  console.log(
    `\n${method} ${path} -> ${response.status} (${ms} ms)\n  ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`,
  );
  return data;
}

/** Wait (5 s at most) until the web service heard `ticket_created` for ticket `id`, and say so. */
async function showHeard(id: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const heard = (await (await fetch(`${base}/events`)).json()) as Array<{
      event: string;
      ticket: { id: number; title: string };
    }>;
    const event = heard.find((e) => e.event === 'ticket_created' && e.ticket.id === id);
    if (event !== undefined) {
      const ms = (performance.now() - started).toFixed(0);
      console.log(
        `\nGET /events -> ${event.event} #${id} "${event.ticket.title}" (${ms} ms): published by the provider once committed, run by the web's Subscriber`,
      );
      return;
    }
    if (performance.now() - started > 5000) throw new Error(`ticket_created #${id} not heard`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  await show('GET', '/tickets/1'); // a call: get_ticket(1)
  const list = (await show('GET', '/tickets?n=5')) as unknown[]; // a stream: ticket_list(5)
  console.log(`  (${list.length} tickets, streamed item by item from the provider)`);
  await show('GET', '/tickets/9999'); // an error: DoesNotExist -> 404
  const created = (await show('POST', '/tickets', { title: 'Printer on floor 3 is jammed' })) as {
    id: number;
  };
  await show('POST', `/tickets/${created.id}/close`);
  await showHeard(created.id); // an event: the provider published ticket_created, the web heard it

  // 400 requests, 64 at a time, over a pool of at most 8 calls in flight.
  const total = 400;
  const concurrency = 64;
  let next = 0;
  let peakPending = 0;
  let peakSize = 0;
  const sampler = setInterval(async () => {
    const stats = (await (await fetch(`${base}/pool`)).json()) as {
      borrowed: number;
      pending: number;
    };
    peakPending = Math.max(peakPending, stats.pending);
    peakSize = Math.max(peakSize, stats.borrowed);
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
  console.log(
    `\n${total} GET /tickets/:id, ${concurrency} at a time: ${[...statuses].map(([status, n]) => `${n} x ${status}`).join(', ')} in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} requests/s)`,
  );
  console.log(
    `  the pool (max 8) had up to ${peakSize} call(s) in flight; up to ${peakPending} request(s) waited for a place at a time`,
  );
} finally {
  console.log('');
  const webCode = await web.stop();
  const providerCode = await provider.stop();
  console.log(`stopped with SIGTERM: web exited ${webCode}, provider exited ${providerCode}`);
}
