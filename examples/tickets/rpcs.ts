/**
 * The tickets app's RPC methods, ported from the Django app's `rpcs.py`.
 * Handlers reach the database through `orm.db()`: a healthy client, or in
 * an atomic method its transaction (see db.ts and @zrpc/orm-prisma).
 *
 *   cd examples/tickets && node ../../packages/server/dist/cli.js
 *
 * A consumer types its client with `import type * as Tickets from '@zrpc/example-tickets/rpcs'`.
 */
import { callSignal, rpc } from '@zrpc/core';
import { orm } from './db.js';
import { events, onCommit } from './events.js';
import { serializeTicket, type TicketData } from './serializers.js';

/** One ticket; `DoesNotExist` when there is none with this id. */
export async function get_ticket(id: number): Promise<TicketData> {
  return serializeTicket(await orm.db().ticket.findUniqueOrThrow({ where: { id } }));
}

/**
 * The `n` most recent tickets, newest first, one stream item each. Read a
 * page at a time, so that a long list never sits in memory and a caller
 * that stops reading stops the reads.
 */
export async function* ticket_list(n = 10): AsyncGenerator<TicketData> {
  const pageSize = 50;
  let cursor: number | undefined;
  let left = n;
  while (left > 0 && !callSignal()?.aborted) {
    const page = await orm.db().ticket.findMany({
      orderBy: { id: 'desc' },
      take: Math.min(pageSize, left),
      ...(cursor === undefined ? {} : { cursor: { id: cursor }, skip: 1 }),
    });
    for (const ticket of page) yield serializeTicket(ticket);
    if (page.length < pageSize) return;
    left -= page.length;
    cursor = page.at(-1)!.id;
  }
}

/** Opens a ticket and returns it; subscribers hear `ticket_created` once it is committed. */
export async function create_ticket(title: string, description = ''): Promise<TicketData> {
  if (typeof title !== 'string' || title.trim() === '') {
    throw new ValueError(`a ticket needs a title, got ${JSON.stringify(title)}`);
  }
  const ticket = serializeTicket(
    await orm.db().ticket.create({ data: { title: title.trim(), description } }),
  );
  onCommit(() => events.ticket_created(ticket));
  return ticket;
}

/** Closes a ticket (closing a closed ticket changes nothing) and returns it. */
export async function close_ticket(id: number): Promise<TicketData> {
  return serializeTicket(
    await orm.db().ticket.update({ where: { id }, data: { status: 'closed' } }),
  );
}

/** Bad arguments, under the name a Python caller expects. */
export class ValueError extends Error {
  override name = 'ValueError';
}

rpc.register(get_ticket, {
  doc: 'Returns one ticket; DoesNotExist when there is none with this id.',
});
rpc.register({ name: 'ticket_list', stream: true, doc: 'Streams the n most recent tickets.' })(
  ticket_list,
);
rpc.register(create_ticket, { doc: 'Opens a ticket and returns it.' });
rpc.register(close_ticket, { doc: 'Closes a ticket and returns it.' });
