/**
 * Tickets as plain objects for the wire (the Django app's serializer):
 * msgpack has no date type, so times travel as ISO 8601 strings, which a
 * Python caller parses with `datetime.fromisoformat`.
 */
import type { Ticket } from './generated/sqlite/client.js';

export interface TicketData {
  id: number;
  title: string;
  description: string;
  status: string;
  created: string;
  updated: string;
}

export function serializeTicket(ticket: Ticket): TicketData {
  return {
    id: ticket.id,
    title: ticket.title,
    description: ticket.description,
    status: ticket.status,
    created: ticket.createdAt.toISOString(),
    updated: ticket.updatedAt.toISOString(),
  };
}
