/**
 * How `zrpc-server` runs the tickets service (run it from this directory):
 * Sentry is initialised (it sends nothing without SENTRY_DSN), the database
 * is made ready (migrations, then a seed when empty), then every call goes
 * through the middleware below, outermost first.
 */
import * as Sentry from '@sentry/node';
import { sentryServer } from '@zrpc/sentry';
import { defineConfig } from '@zrpc/server/runner';
import { createClient, engine, orm } from './db.js';
import { afterCommit, publishEvents } from './events.js';
import { migrate, seed } from './migrate.js';

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  tracesSampleRate: Number(process.env.SENTRY_TRACES_SAMPLE_RATE ?? 0.2),
});

const prisma = createClient();
try {
  const applied = await migrate(prisma, engine);
  const seeded = await seed(prisma);
  if (applied.length > 0 || seeded > 0) {
    console.log(
      `database (${engine}): applied ${applied.length} migration(s), seeded ${seeded} ticket(s)`,
    );
  }
} finally {
  await prisma.$disconnect();
}
await publishEvents();

export default defineConfig({
  apps: ['.'],
  middleware: [
    // Outermost: it sees every call, and errors under the names callers get
    // (the Prisma middleware inside it has already mapped them). A missing
    // ticket is part of the API, like an HTTP 404: a span status, not an event.
    sentryServer({ serverName: 'tickets', expected: ['DoesNotExist'] }),
    // Events queued by a handler (`onCommit`) go out once its transaction committed.
    afterCommit,
    orm.middleware,
  ],
});
