/**
 * The Django `close_old_connections()` promise, on a real PostgreSQL: after
 * every session is terminated, after a restart, after a network cut, the
 * next call succeeds with the middleware; the same steps without it fail.
 *
 * Most of these tests reach PostgreSQL through a NetworkHop (a loopback TCP
 * relay) that, like a database on another host, does not tell the service
 * when PostgreSQL drops a connection. On a direct loopback connection
 * node-postgres usually hears of it in time and its pool sheds the dead
 * connection itself; the hop takes that luck away, so the failure the
 * middleware prevents shows every time.
 */
import { TimeoutError } from '@zrpc/client';
import { Registry } from '@zrpc/core';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type ZrpcPrismaOptions, zrpcPrisma } from '../src/index.js';
import {
  type Client,
  freshDatabase,
  type TestDatabase,
  terminateAllSessions,
  withPg,
} from './support/databases.js';
import { NetworkHop } from './support/network-hop.js';
import { pgStart, pgStop } from './support/postgres.js';
import { type RpcPair, rejection, startRpc } from './support/rpc.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: TestDatabase;
let hop: NetworkHop;
let hopPort: number;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  database = await freshDatabase('postgresql');
  hop = new NetworkHop({ host: '127.0.0.1', port: inject('postgres').port });
  hopPort = await hop.listen();
});

afterEach(async () => {
  // The hop first: a client still waiting on a cut connection cannot disconnect before.
  await hop.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await database.drop();
});

/** The methods: `names()` reads, `add(name)` writes, `calls` counts handler runs. */
function methods(db: () => Client, calls: { add: number }) {
  return (registry: Registry) => {
    registry.register(async function names() {
      // Three connections busy at once fill the pool, as a service under load would.
      await db().$queryRawUnsafe('SELECT pg_sleep(0.05)::text');
      return (await db().item.findMany({ orderBy: { id: 'asc' } })).map((item) => item.name);
    });
    registry.register(async function add(name: string) {
      calls.add++;
      await db().item.create({ data: { name } });
      return name;
    });
  };
}

/** A provider whose handlers use the middleware's `db()`. */
async function withMiddleware(options: ZrpcPrismaOptions, port = hopPort) {
  const warnings: string[] = [];
  const registry = new Registry();
  const orm = zrpcPrisma(() => database.createClient(port), {
    ...options,
    registry,
    logger: { warn: (line) => warnings.push(line) },
  });
  const calls = { add: 0 };
  const rpc = await startRpc(
    methods(() => orm.db() as Client, calls),
    [orm.middleware],
    {
      timeoutMs: 3_000,
      registry,
    },
  );
  cleanups.push(
    () => orm.close(),
    () => rpc.close(),
  );
  return { orm, rpc, calls, warnings };
}

/** The same provider with one PrismaClient and no middleware: what the middleware replaces. */
async function withoutMiddleware(port = hopPort) {
  const prisma = database.createClient(port);
  const calls = { add: 0 };
  const rpc = await startRpc(
    methods(() => prisma, calls),
    [],
    { timeoutMs: 3_000 },
  );
  cleanups.push(
    () => prisma.$disconnect(),
    () => rpc.close(),
  );
  return { rpc, calls };
}

/** Fill the pool with three connections. */
async function warm(rpc: RpcPair): Promise<void> {
  await Promise.all([rpc.client.call('names'), rpc.client.call('names'), rpc.client.call('names')]);
}

async function restartPostgres(): Promise<void> {
  await pgStop(inject('postgres'));
  await pgStart(inject('postgres'));
}

describe.each([
  ['every session terminated with pg_terminate_backend', terminateAllSessions],
  ['PostgreSQL restarted on the same port', restartPostgres],
])('%s between two calls', (_, breakConnections) => {
  it('with the middleware: the next call succeeds (the idle health check replaces the dead client)', async () => {
    const { rpc, orm, warnings } = await withMiddleware({ healthCheckAfterIdleMs: 50 });
    await warm(rpc);
    await rpc.client.call('add', 'before');
    await breakConnections();
    await sleep(100);
    expect(await rpc.client.call('add', 'after')).toBe('after');
    expect(await rpc.client.call('names')).toEqual(['before', 'after']);
    expect(orm.replacements).toBe(1);
    expect(warnings.join('\n')).toMatch(/health check failed, replacing the Prisma client/);
  });

  it('without it: the next calls fail, one per dead pooled connection', async () => {
    const { rpc } = await withoutMiddleware();
    await warm(rpc);
    await breakConnections();
    await sleep(100);
    const error = await rejection(rpc.client.call('add', 'after'));
    expect(error.remoteName).toBe('PrismaClientKnownRequestError');
    expect(error.remoteMessage).toMatch(/Server has closed the connection/);
    // The pool only drops a connection once a call has failed on it.
    expect((await rejection(rpc.client.call('names'))).remoteMessage).toMatch(
      /closed the connection/,
    );
  });

  it('with the middleware and no idle check: one call fails as OperationalError, not retried; the next succeeds', async () => {
    const { rpc, calls } = await withMiddleware({
      healthCheckAfterIdleMs: Number.POSITIVE_INFINITY,
    });
    await warm(rpc);
    await breakConnections();
    const error = await rejection(rpc.client.call('add', 'lost'));
    expect(error.remoteName).toBe('OperationalError');
    expect(calls.add).toBe(1);
    expect(await rpc.client.call('add', 'next')).toBe('next');
    expect(await rpc.client.call('names')).toEqual(['next']);
  });

  it('with the middleware and the method marked idempotent: the call itself succeeds, run twice', async () => {
    const { rpc, calls, orm } = await withMiddleware({
      healthCheckAfterIdleMs: Number.POSITIVE_INFINITY,
      idempotent: ['add'],
    });
    await warm(rpc);
    await breakConnections();
    expect(await rpc.client.call('add', 'retried')).toBe('retried');
    expect(calls.add).toBe(2);
    expect(orm.replacements).toBe(1);
    expect(await rpc.client.call('names')).toEqual(['retried']);
  });
});

describe('a replacement while other calls run', () => {
  it('leaves their transactions alone: an atomic call on the old client commits after the client was replaced', async () => {
    const registry = new Registry();
    const orm = zrpcPrisma(() => database.createClient(hopPort), {
      registry,
      atomic: ['slow_add'],
      healthCheckAfterIdleMs: 0,
      logger: { warn() {} },
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    registry.register(async function slow_add(name: string) {
      await (orm.db() as Client).item.create({ data: { name } });
      started = true;
      await released;
      return name;
    });
    const calls = { add: 0 };
    methods(() => orm.db() as Client, calls)(registry);
    const rpc = await startRpc(() => {}, [orm.middleware], { registry, timeoutMs: 5_000 });
    cleanups.push(
      () => orm.close(),
      () => rpc.close(),
    );

    await warm(rpc);
    const slow = rpc.client.call('slow_add', 'in a transaction');
    await expect.poll(() => started).toBe(true);
    // Kill the idle connections only: the transaction's connection stays healthy.
    await withPg(inject('postgres').url, (admin) =>
      admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'idle'`),
    );
    expect(await rpc.client.call('add', 'on the new client')).toBe('on the new client');
    expect(orm.replacements).toBe(1);
    release();
    expect(await slow).toBe('in a transaction');
    expect((await database.names()).sort()).toEqual(['in a transaction', 'on the new client']);
  });
});

describe('a direct connection (no hop)', () => {
  it('with the middleware: calls right after terminating every session succeed, round after round', async () => {
    const port = inject('postgres').port;
    const { rpc } = await withMiddleware({ healthCheckAfterIdleMs: 0 }, port);
    for (let round = 0; round < 5; round++) {
      await warm(rpc);
      await terminateAllSessions();
      expect(await rpc.client.call('add', `round ${round}`)).toBe(`round ${round}`);
    }
  });
});

describe('a network cut (connections go silent, new ones work)', () => {
  it('with the middleware: the health check times out, the client is replaced, the call succeeds', async () => {
    const { rpc, orm } = await withMiddleware({
      healthCheckAfterIdleMs: 50,
      healthCheckTimeoutMs: 300,
      disposeTimeoutMs: 200,
    });
    await warm(rpc);
    hop.cut();
    await sleep(100);
    expect(await rpc.client.call('add', 'after the cut')).toBe('after the cut');
    expect(orm.replacements).toBe(1);
  });

  it('without it: the call hangs on a dead connection until the caller times out', async () => {
    const { rpc } = await withoutMiddleware();
    await warm(rpc);
    hop.cut();
    expect(
      await rejection(rpc.client.withOptions({ timeoutMs: 1_500 }).call('names')),
    ).toBeInstanceOf(TimeoutError);
  });
});

describe('PostgreSQL down', () => {
  it('a call fails with OperationalError while it is down, and the first call after it is back succeeds', async () => {
    const { rpc } = await withMiddleware({ healthCheckAfterIdleMs: 0 }, inject('postgres').port);
    await warm(rpc);
    await pgStop(inject('postgres'));
    try {
      expect((await rejection(rpc.client.call('names'))).remoteName).toBe('OperationalError');
    } finally {
      await pgStart(inject('postgres'));
    }
    expect(await rpc.client.call('names')).toEqual([]);
  });
});
