/**
 * How `zrpc-server` runs the tickets service (run it from this directory):
 * the database is made ready first (migrations, then a seed when empty),
 * then every call goes through the middleware below.
 */
import { defineConfig } from '@zrpc/server/runner';
import { createClient, engine, orm } from './db.js';
import { migrate, seed } from './migrate.js';

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

export default defineConfig({
  apps: ['.'],
  middleware: [
    // SENTRY: @zrpc/sentry's server middleware goes here, outermost, so that
    // it sees every call and the errors as the caller gets them (once
    // @zrpc/sentry is merged: `sentryServer({ ... })`).
    orm.middleware,
  ],
});
