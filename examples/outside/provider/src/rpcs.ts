/**
 * The provider's methods. Compiled with `declaration: true`, this module's
 * `dist/rpcs.d.ts` is what consumers type their clients with
 * (`import type * as Tickets from '@acme/tickets-provider/rpcs'`).
 * Relative imports end in `.js`, as `module: NodeNext` requires.
 */
import { rpc } from '@zrpc/core';
import { findTicket, newestTickets, type Ticket } from './tickets.js';

export type { Ticket } from './tickets.js';

/** What `get_ticket` throws for an unknown id; the caller gets an ERR of this name. */
export class DoesNotExist extends Error {
  override name = 'DoesNotExist';
}

export function get_ticket(id: number): Ticket {
  const ticket = findTicket(id);
  if (ticket === undefined) throw new DoesNotExist(`no ticket ${id}`);
  return ticket;
}

export function* ticket_list(n: number): Generator<Ticket> {
  yield* newestTickets(n);
}

rpc.register(get_ticket, { doc: 'The ticket with this id.' });
rpc.register(ticket_list, { stream: true, doc: 'The n newest tickets, one by one.' });
