/**
 * Runs the HTTP service: `TICKETS_ENDPOINT` (default tcp://127.0.0.1:4242)
 * is the tickets provider, `PORT` (default 3000; 0 takes a free one) and
 * `HOST` (default 127.0.0.1) where it listens, `POOL_MAX` the pool size,
 * `RPC_TIMEOUT_MS` (default 5000) how long a call and its wait for the pool may take,
 * `TICKETS_EVENTS` (default tcp://127.0.0.1:4243) where the provider publishes its events.
 * SIGINT or SIGTERM closes it (requests in flight finish) and exits 0.
 * `SENTRY_DSN` turns Sentry on (its calls to the provider become spans).
 */
import * as Sentry from '@sentry/node';
import { buildApp } from './app.js';

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  tracesSampleRate: Number(process.env.SENTRY_TRACES_SAMPLE_RATE ?? 0.2),
  // Sentry's Fastify integration would report every error a route throws, 404s included:
  // app.ts's error handler reports the 5xx itself.
  integrations: (defaults) => defaults.filter((integration) => integration.name !== 'Fastify'),
});

const { app } = buildApp({
  endpoint: process.env.TICKETS_ENDPOINT ?? 'tcp://127.0.0.1:4242',
  max: Number(process.env.POOL_MAX ?? 8),
  timeoutMs: Number(process.env.RPC_TIMEOUT_MS ?? 5_000),
  eventsEndpoint: process.env.TICKETS_EVENTS ?? 'tcp://127.0.0.1:4243',
});
const address = await app.listen({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? '127.0.0.1',
});
console.log(`tickets-web listening on ${address}`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('closing failed', error);
        process.exit(1);
      },
    );
  });
}
