/**
 * What the web service hears from the tickets provider: a `Subscriber`
 * connected to the provider's publisher runs `ticket_created` for each
 * ticket created, and the feed keeps the latest for `GET /events`.
 * Delivery is at most once: what was published before this service
 * connected (or while it was down) is not heard.
 */
import type { ServerMiddleware } from '@zrpc/core';
import { Registry } from '@zrpc/core';
import type { TicketEvents } from '@zrpc/example-tickets/events';
import { Subscriber } from '@zrpc/server';

/** One event heard, as `GET /events` shows it. */
export interface HeardEvent {
  event: keyof TicketEvents;
  ticket: Parameters<TicketEvents['ticket_created']>[0];
  /** When this service ran it (ISO 8601). */
  heard: string;
}

const KEPT = 100;

/** The latest events heard, oldest first. */
export class TicketFeed {
  readonly events: HeardEvent[] = [];

  /** The handlers the subscriber runs: the provider's `TicketEvents`, implemented. */
  readonly handlers: TicketEvents = {
    ticket_created: (ticket) => {
      this.events.push({ event: 'ticket_created', ticket, heard: new Date().toISOString() });
      if (this.events.length > KEPT) this.events.shift();
    },
  };
}

/** A subscriber that runs `feed`'s handlers for the events published at `endpoint`. */
export function subscribeTo(
  endpoint: string,
  feed: TicketFeed,
  middleware: ServerMiddleware[] = [],
): { subscriber: Subscriber; connected: Promise<void> } {
  const registry = new Registry();
  registry.register(feed.handlers.ticket_created, { name: 'ticket_created', args: ['ticket'] });
  // Topics: ZeroMQ filters at the publisher, so only ticket_created travels here.
  const subscriber = new Subscriber({ registry, middleware, topics: ['ticket_created'] });
  return { subscriber, connected: subscriber.connect(endpoint) };
}
