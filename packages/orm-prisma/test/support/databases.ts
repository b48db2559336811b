/**
 * Fresh databases for the tests' `Item` model, on both real engines: a new
 * SQLite file, or a new database on the run's PostgreSQL (test/global-setup.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.js';

/** The generated clients differ only in the provider they were made for: one type serves both. */
export type Client = SqliteClient;
export type Engine = 'sqlite' | 'postgresql';

export interface TestDatabase {
  engine: Engine;
  /** A new PrismaClient on this database (through another port, for PostgreSQL behind a hop). */
  createClient(port?: number): Client;
  /** Rows of Item, read with a connection of its own (not through Prisma). */
  names(): Promise<string[]>;
  drop(): Promise<void>;
}

let databases = 0;

export async function freshDatabase(engine: Engine): Promise<TestDatabase> {
  return engine === 'sqlite' ? freshSqlite() : freshPostgres();
}

function freshSqlite(): TestDatabase {
  const dir = mkdtempSync('/tmp/zrpc-sqlite-');
  const file = join(dir, 'test.db');
  const setup = new Sqlite(file);
  setup.exec(`CREATE TABLE "Item" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX "Item_name_key" ON "Item"("name");`);
  setup.close();
  return {
    engine: 'sqlite',
    createClient: () =>
      new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: `file:${file}` }) }),
    async names() {
      const db = new Sqlite(file, { readonly: true });
      try {
        return (db.prepare('SELECT name FROM "Item" ORDER BY id').all() as { name: string }[]).map(
          (row) => row.name,
        );
      } finally {
        db.close();
      }
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshPostgres(): Promise<TestDatabase> {
  const server = inject('postgres');
  const name = `test_${process.pid}_${++databases}`;
  await withPg(server.url, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = (port: number) => `postgresql://postgres@127.0.0.1:${port}/${name}`;
  await withPg(url(server.port), (client) =>
    client.query(`CREATE TABLE "Item" (
      "id" SERIAL PRIMARY KEY,
      "name" TEXT NOT NULL UNIQUE,
      "count" INTEGER NOT NULL DEFAULT 0
    )`),
  );
  return {
    engine: 'postgresql',
    createClient: (port = server.port) =>
      new PostgresClient({
        adapter: new PrismaPg({ connectionString: url(port) }),
      }) as unknown as Client,
    names: () =>
      withPg(url(server.port), async (client) =>
        (await client.query('SELECT name FROM "Item" ORDER BY id')).rows.map((row) => row.name),
      ),
    async drop() {
      await withPg(server.url, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}

/** Run `fn` with a pg connection of its own, closed afterwards. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Terminate every client session of the run's PostgreSQL but the one asking. */
export function terminateAllSessions(): Promise<number> {
  return withPg(inject('postgres').url, async (client) => {
    const result = await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    return result.rowCount ?? 0;
  });
}
