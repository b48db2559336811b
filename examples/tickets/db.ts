/**
 * The tickets service's database: an embedded SQLite file next to this
 * module by default (created, migrated and seeded on first start), or
 * PostgreSQL when DATABASE_URL is a `postgres://` / `postgresql://` URL.
 *
 * `orm` is the Prisma client made fit for zrpc calls: its middleware goes
 * in zrpc.config.ts, and handlers reach the database with `orm.db()`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { zrpcPrisma } from '@zrpc/orm-prisma';
import { PrismaClient as PostgresClient } from './generated/postgresql/client.js';
import { PrismaClient } from './generated/sqlite/client.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Where the data lives: DATABASE_URL, or `tickets.db` beside this file. */
export const databaseUrl = process.env.DATABASE_URL || `file:${join(here, 'tickets.db')}`;
export const engine = /^postgres(ql)?:\/\//.test(databaseUrl) ? 'postgresql' : 'sqlite';

/**
 * A new PrismaClient for the configured database. The two generated
 * clients differ only in the provider they were made for (one schema,
 * prisma/schema.prisma), so the SQLite one's type serves both.
 */
export function createClient(): PrismaClient {
  if (engine === 'postgresql') {
    return new PostgresClient({
      adapter: new PrismaPg({ connectionString: databaseUrl }),
    }) as unknown as PrismaClient;
  }
  return new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: databaseUrl }) });
}

export const orm = zrpcPrisma(createClient, {
  // Writes run in a transaction each (Django's ATOMIC_REQUESTS, per method).
  atomic: ['create_ticket', 'close_ticket'],
  // Safe to run twice: retried once on a fresh connection if theirs broke.
  idempotent: ['get_ticket', 'close_ticket'],
});
