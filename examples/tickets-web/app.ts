/**
 * The HTTP side: a Fastify app whose routes call the tickets provider
 * through one `RPCClient` pool. Every request's call takes one of the
 * pool's `max` places for its life (a stream for the whole stream) on one
 * shared, multiplexed socket per provider, so many concurrent requests
 * share at most `max` calls in flight; the rest wait their turn in the pool
 * (`rpc.stats.pending`), within `acquireTimeoutMs`.
 */

import * as Sentry from '@sentry/node';
import {
  AcquireTimeoutError,
  type ClientMiddleware,
  RemoteError,
  RPCClient,
  TimeoutError,
} from '@zrpc/client';
import type * as Tickets from '@zrpc/example-tickets/rpcs';
import { sentryClient, sentryServer } from '@zrpc/sentry';
import Fastify, { type FastifyInstance } from 'fastify';
import { subscribeTo, TicketFeed } from './events.js';

export interface AppOptions {
  /** Where the tickets provider listens, e.g. `tcp://127.0.0.1:4242`. */
  endpoint: string;
  /** Most calls to the provider in flight at once (default 8). */
  max?: number;
  /** How long a call, including its wait for a free place in the pool, may take (ms, default 5000). */
  timeoutMs?: number;
  /** More client middleware, after Sentry's: `otelClient()` of @zrpc/opentelemetry, say. */
  middleware?: ClientMiddleware[];
  /** Where the provider publishes its events, e.g. `tcp://127.0.0.1:4243` (none: `GET /events` stays empty). */
  eventsEndpoint?: string;
}

/** Remote error names and the HTTP status each becomes. */
const STATUS_OF: Record<string, number> = {
  DoesNotExist: 404,
  ValueError: 400,
  IntegrityError: 409,
};

export function buildApp(options: AppOptions): {
  app: FastifyInstance;
  rpc: RPCClient<typeof Tickets>;
} {
  const rpc = new RPCClient<typeof Tickets>({
    endpoints: options.endpoint,
    max: options.max ?? 8,
    timeoutMs: options.timeoutMs ?? 5_000,
    // A span and a breadcrumb per call; the trace goes on to the provider in the zerorpc header.
    middleware: [
      sentryClient({ service: 'tickets', expected: ['DoesNotExist'] }),
      ...(options.middleware ?? []),
    ],
  });
  const app = Fastify();

  app.get<{ Params: { id: string } }>('/tickets/:id', async (request) =>
    rpc.get_ticket(ticketId(request.params.id)),
  );

  app.get<{ Querystring: { n?: string } }>('/tickets', async (request) => {
    const n = Math.min(Number(request.query.n ?? 10) || 10, 500);
    const tickets = [];
    for await (const ticket of rpc.ticket_list(n)) tickets.push(ticket);
    return tickets;
  });

  app.post<{ Body: { title?: string; description?: string } }>(
    '/tickets',
    async (request, reply) => {
      const { title = '', description = '' } = request.body ?? {};
      reply.code(201);
      return rpc.create_ticket(title, description);
    },
  );

  app.post<{ Params: { id: string } }>('/tickets/:id/close', async (request) =>
    rpc.close_ticket(ticketId(request.params.id)),
  );

  // The provider's events (ticket_created), as this service heard them: oldest first.
  const feed = new TicketFeed();
  if (options.eventsEndpoint !== undefined) {
    // The same Sentry middleware as the provider's calls: a failing handler is reported.
    const events = subscribeTo(options.eventsEndpoint, feed, [
      sentryServer({ serverName: 'tickets-web' }),
    ]);
    app.addHook('onReady', () => events.connected);
    app.addHook('onClose', () => events.subscriber.close());
  }
  app.get('/events', async () => feed.events);

  /** What the pool holds now: places taken and free, calls waiting for one, servers and ejections. */
  app.get('/pool', async () => rpc.stats);

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof RemoteError) {
      const status = STATUS_OF[error.remoteName] ?? 502;
      // The provider reported its own failures; a 4xx is the caller's business.
      if (status >= 500) Sentry.captureException(error);
      return reply.code(status).send({ error: error.remoteName, message: error.remoteMessage });
    }
    if (error instanceof AcquireTimeoutError || error instanceof TimeoutError) {
      // Load, not a bug: the client span already has the deadline_exceeded status.
      return reply.code(503).send({ error: error.name, message: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) Sentry.captureException(error);
    return reply
      .code(status)
      .send({ error: (error as Error).name, message: (error as Error).message });
  });

  app.addHook('onClose', () => rpc.close());
  return { app, rpc };
}

function ticketId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 1) {
    throw Object.assign(new Error(`"${text}" is not a ticket id`), { statusCode: 400 });
  }
  return id;
}
