/**
 * The events the tickets service publishes, for any service that wants to
 * know (the Django app's signals, across processes): `ticket_created` once
 * a ticket's transaction has committed. A subscriber implements
 * `TicketEvents` (`import type { TicketEvents } from '@zrpc/example-tickets/events'`).
 *
 * `TICKETS_EVENTS_ADDRESS` is where the publisher binds (any addrport,
 * default 127.0.0.1:4243; port 0 takes a free one). Delivery is at most
 * once: a subscriber that is not connected when an event goes out misses it.
 */
import { Publisher } from '@zrpc/client';
import { currentCall, parseAddrport, type ServerMiddleware } from '@zrpc/core';
import type { TicketData } from './serializers.js';

export interface TicketEvents {
  ticket_created(ticket: TicketData): void;
}

/** With topic frames, so that a zrpc subscriber may take only the events it names. */
export const events = new Publisher<TicketEvents>({ topics: true });

/** Bind the publisher and say where (zrpc.config.ts does it once, at start). */
export async function publishEvents(): Promise<void> {
  const address = process.env.TICKETS_EVENTS_ADDRESS ?? '127.0.0.1:4243';
  await events.bind(parseAddrport(address).endpoint);
  console.log(`Publishing ticket events on ${events.endpoints[0]}`);
}

const AFTER_COMMIT = Symbol('after commit');

/** Run `fn` once the current call's transaction has committed (Django's `transaction.on_commit`). */
export function onCommit(fn: () => Promise<unknown>): void {
  (currentCall()?.state.get(AFTER_COMMIT) as Array<() => Promise<unknown>> | undefined)?.push(fn);
}

/**
 * Runs what `onCommit` queued once the call succeeded. It goes outside
 * the database middleware, so `next()` resolving means committed; a call
 * that failed (rolled back) publishes nothing.
 */
export const afterCommit: ServerMiddleware = async (ctx, next) => {
  const queued: Array<() => Promise<unknown>> = [];
  ctx.state.set(AFTER_COMMIT, queued);
  await next();
  for (const fn of queued) {
    // The ticket exists: a failure to publish is logged, the call still succeeds.
    await fn().catch((error: unknown) => console.error('publishing an event failed', error));
  }
};
