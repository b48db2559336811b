/**
 * Migrations without the Prisma CLI: the SQL files under
 * prisma/migrations/<provider>/<name>/migration.sql are applied in name
 * order, each in a transaction with its record in `_zrpc_migrations`, through
 * the same driver adapter the service uses. Then an empty database gets a
 * few tickets, so that a first start has something to serve.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from './generated/sqlite/client.js';

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'prisma/migrations');

/** The migrations applied now (an empty list when the database was up to date). */
export async function migrate(prisma: PrismaClient, engine: string): Promise<string[]> {
  await prisma.$executeRawUnsafe(
    `CREATE TABLE IF NOT EXISTS "_zrpc_migrations" ("name" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)`,
  );
  const rows = await prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT "name" FROM "_zrpc_migrations"`,
  );
  const applied = new Set(rows.map((row) => row.name));
  const dir = join(migrationsDir, engine);
  const pending = readdirSync(dir)
    .sort()
    .filter((name) => !applied.has(name));
  for (const name of pending) {
    const statements = readFileSync(join(dir, name, 'migration.sql'), 'utf8')
      .split(/;\s*$/m)
      .map((statement) => statement.trim())
      .filter((statement) => statement !== '');
    await prisma.$transaction(async (tx) => {
      for (const statement of statements) await tx.$executeRawUnsafe(statement);
      const appliedAt = new Date().toISOString();
      await tx.$executeRaw`INSERT INTO "_zrpc_migrations" ("name", "appliedAt") VALUES (${name}, ${appliedAt})`;
    });
  }
  return pending;
}

const SEED = [
  ['Login page times out', 'Users on the VPN wait 30 s before the login form shows.'],
  ['Invoice PDF has the wrong VAT rate', 'Orders shipped to Belgium use 20 % instead of 21 %.'],
  ['Export to CSV drops accents', 'Names like Zoë come out as Zo?.'],
  ['Search ignores archived tickets', ''],
  ['Password reset mail lands in spam', 'Missing DKIM record on the new sender domain.'],
];

/** Give an empty database some tickets (25: the seed, five times over); returns how many. */
export async function seed(prisma: PrismaClient): Promise<number> {
  if ((await prisma.ticket.count()) > 0) return 0;
  const data = Array.from({ length: 25 }, (_, i) => {
    const [title, description] = SEED[i % SEED.length]!;
    return { title: i < SEED.length ? title! : `${title} (#${i + 1})`, description: description! };
  });
  for (const ticket of data) await prisma.ticket.create({ data: ticket });
  return data.length;
}
