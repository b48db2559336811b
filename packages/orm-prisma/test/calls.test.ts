/**
 * What a handler sees through the middleware, on both real databases:
 * atomic calls (commit, rollback on error and on a lost caller), Django's
 * error names, streams, and the idle health check.
 */
import { RemoteError } from '@zrpc/client';
import { callSignal, LostRemoteError, Registry } from '@zrpc/core';
import { nextTurns, until } from '@zrpc/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseError, type ZrpcPrismaOptions, zrpcPrisma } from '../src/index.js';
import { type Client, type Engine, freshDatabase, type TestDatabase } from './support/databases.js';
import { type RpcPair, rejection, startRpc } from './support/rpc.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class ValueError extends Error {
  override name = 'ValueError';
}

describe.each<Engine>(['sqlite', 'postgresql'])('%s', (engine) => {
  let database: TestDatabase;
  let rpc: RpcPair;
  let orm: ReturnType<typeof zrpcPrisma<Client>>;
  /** SELECT 1 health checks sent, counted on the real client. */
  let checks: number;
  /** Whether `slow_add` has started, and a promise settled when it has finished. */
  let slowStarted: boolean;
  let slowWrote: boolean;
  let slowDone: Promise<unknown>;

  beforeEach(async () => {
    database = await freshDatabase(engine);
  });

  afterEach(async () => {
    await rpc?.close();
    await orm?.close();
    await database.drop();
  });

  async function serve(options: ZrpcPrismaOptions = {}): Promise<void> {
    checks = 0;
    slowStarted = false;
    slowWrote = false;
    const registry = new Registry();
    orm = zrpcPrisma(
      () => {
        const client = database.createClient();
        const check = client.$queryRawUnsafe.bind(client);
        // Count the middleware's health checks without changing them.
        client.$queryRawUnsafe = ((query: string, ...values: unknown[]) => {
          if (query === 'SELECT 1') checks++;
          return check(query, ...values);
        }) as typeof client.$queryRawUnsafe;
        return client;
      },
      { registry, ...options },
    );
    const db = () => orm.db();
    registry.register(async function add_two(first: string, second: string) {
      await db().item.create({ data: { name: first } });
      await db().item.create({ data: { name: second } });
      return (await db().item.count()) as number;
    });
    registry.register(async function add_then_fail(name: string) {
      await db().item.create({ data: { name } });
      throw new ValueError(`${name} refused after it was written`);
    });
    registry.register(async function slow_add(name: string) {
      let finish!: (value: unknown) => void;
      slowDone = new Promise((resolve) => (finish = resolve));
      slowStarted = true;
      try {
        await db().item.create({ data: { name } });
        slowWrote = true;
        // Outlives its caller: the transaction must not commit when the caller is lost.
        await new Promise((resolve) => callSignal()?.addEventListener('abort', resolve));
        await nextTurns();
        return name;
      } finally {
        finish(undefined);
      }
    });
    registry.register(async function get_item(id: number) {
      return db().item.findUniqueOrThrow({ where: { id } });
    });
    registry.register(async function rename(id: number, name: string) {
      return db().item.update({ where: { id }, data: { name } });
    });
    registry.register(async function add(name: string) {
      return db().item.create({ data: { name } });
    });
    registry.register(
      async function* items_named(...names: string[]) {
        for (const name of names) {
          if (name === 'boom') throw new ValueError('boom in the middle of the stream');
          yield await db().item.create({ data: { name } });
        }
      },
      { stream: true },
    );
    rpc = await startRpc(() => {}, [orm.middleware], { registry, heartbeatMs: 100 });
  }

  describe('atomic calls', () => {
    it('commit when the call succeeds, and db() is the transaction inside', async () => {
      await serve({ atomic: ['add_two', 'add_then_fail'] });
      expect(await rpc.client.call('add_two', 'a', 'b')).toBe(2);
      expect(await database.names()).toEqual(['a', 'b']);
    });

    it('roll back when the call fails (a unique violation half-way: nothing of it stays)', async () => {
      await serve({ atomic: ['add_two', 'add_then_fail'] });
      const error = await rejection(rpc.client.call('add_two', 'same', 'same'));
      expect(error.remoteName).toBe('IntegrityError');
      expect(await database.names()).toEqual([]);
    });

    it("roll back on the handler's own error, which reaches the caller unchanged", async () => {
      await serve({ atomic: ['add_two', 'add_then_fail'] });
      const error = await rejection(rpc.client.call('add_then_fail', 'ghost'));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.remoteName).toBe('ValueError');
      expect(await database.names()).toEqual([]);
    });

    it('roll back when the caller goes away (lost or cancelled) while the handler runs', async () => {
      await serve({ atomic: ['slow_add'] });
      const abort = new AbortController();
      const call = rpc.client.withOptions({ signal: abort.signal }).call('slow_add', 'orphan');
      await until(() => slowStarted && slowWrote, 5_000, 'the handler to write');
      abort.abort(new Error('the caller went away'));
      await expect(call).rejects.toThrow('the caller went away');
      await slowDone;
      // The call has ended (its slot is back): its transaction is over.
      await until(() => rpc.server.stats.running === 0, 5_000, 'the call to end');
      expect(await database.names()).toEqual([]);
      // The client cancels (_zpc_cancel) if a heartbeat already showed it a
      // zrpc server; otherwise the server finds it lost when its heartbeats stop.
      const { lostRemotes, cancelledByClient } = rpc.server.stats;
      expect(lostRemotes + cancelledByClient).toBe(1);
    });

    it('are per method: a method not listed keeps what it wrote before failing', async () => {
      await serve({ atomic: ['add_two'] });
      await rejection(rpc.client.call('add_then_fail', 'kept'));
      expect(await database.names()).toEqual(['kept']);
    });

    it('atomic: true covers every method, including streams (rolled back when a stream fails)', async () => {
      await serve({ atomic: true });
      const seen: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const item of rpc.client.stream('items_named', 'x', 'y', 'boom')) {
            seen.push((item as { name: string }).name);
          }
        })(),
      );
      expect(seen).toEqual(['x', 'y']);
      expect(error.remoteName).toBe('ValueError');
      expect(await database.names()).toEqual([]);
      for await (const _ of rpc.client.stream('items_named', 'p', 'q')) {
        // consume
      }
      expect(await database.names()).toEqual(['p', 'q']);
    });
  });

  describe('error names', () => {
    it("a missing record is DoesNotExist, with Django's message", async () => {
      await serve();
      const error = await rejection(rpc.client.call('get_item', 404));
      expect(error.remoteName).toBe('DoesNotExist');
      expect(error.remoteMessage).toBe('Item matching query does not exist.');
      expect((await rejection(rpc.client.call('rename', 404, 'x'))).remoteName).toBe(
        'DoesNotExist',
      );
    });

    it('a unique violation is IntegrityError, without the server source excerpt', async () => {
      await serve();
      await rpc.client.call('add', 'twice');
      const error = await rejection(rpc.client.call('add', 'twice'));
      expect(error.remoteName).toBe('IntegrityError');
      expect(error.remoteMessage).toMatch(/^Unique constraint failed/);
      expect(error.remoteMessage).not.toMatch(/invocation|→/);
    });

    it('names are configurable, and `false` leaves Prisma errors alone', async () => {
      await serve({ errorNames: { P2002: 'UniqueViolation' } });
      await rpc.client.call('add', 'twice');
      expect((await rejection(rpc.client.call('add', 'twice'))).remoteName).toBe('UniqueViolation');
      expect((await rejection(rpc.client.call('get_item', 404))).remoteName).toBe('DoesNotExist');
      await rpc.close();
      await orm.close();
      await serve({ errorNames: false });
      expect((await rejection(rpc.client.call('get_item', 404))).remoteName).toBe(
        'PrismaClientKnownRequestError',
      );
    });

    it('the mapped error keeps the original as cause (for server-side logs and Sentry)', async () => {
      const prisma = database.createClient();
      const mapped = await zrpcPrisma(() => prisma)
        .middleware(
          {
            method: 'x',
            stream: false,
            signal: new AbortController().signal,
            state: new Map(),
          } as never,
          () => prisma.item.findUniqueOrThrow({ where: { id: 1 } }).then(() => undefined),
        )
        .catch((error: unknown) => error);
      expect(mapped).toBeInstanceOf(DatabaseError);
      expect((mapped as DatabaseError).code).toBe('P2025');
      expect((mapped as Error).cause).toMatchObject({
        name: 'PrismaClientKnownRequestError',
        code: 'P2025',
      });
      await prisma.$disconnect();
    });
  });

  describe('streams', () => {
    it('items come from db(), and without atomic what a failed stream wrote stays', async () => {
      await serve();
      const names: string[] = [];
      for await (const item of rpc.client.stream('items_named', 'one', 'two')) {
        names.push((item as { name: string }).name);
      }
      expect(names).toEqual(['one', 'two']);
      const error = await rejection(
        (async () => {
          for await (const _ of rpc.client.stream('items_named', 'three', 'boom')) {
            // consume
          }
        })(),
      );
      expect(error.remoteName).toBe('ValueError');
      expect(await database.names()).toEqual(['one', 'two', 'three']);
    });

    it('a Prisma error in the middle of a stream ends it with the mapped name, after its items', async () => {
      await serve();
      const seen: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const item of rpc.client.stream('items_named', 'u', 'v', 'u')) {
            seen.push((item as { name: string }).name);
          }
        })(),
      );
      expect(seen).toEqual(['u', 'v']);
      expect(error.remoteName).toBe('IntegrityError');
    });

    it('a caller leaving an atomic stream early rolls it back', async () => {
      await serve({ atomic: ['items_named'] });
      for await (const _ of rpc.client.stream('items_named', 'first', 'second', 'third')) break;
      // The zrpc client tells the server at once (_zpc_cancel); a reference
      // client would only fall silent, and the server would lose it.
      await expect.poll(() => rpc.server.stats.cancelledByClient, { timeout: 5_000 }).toBe(1);
      await until(() => rpc.server.stats.running === 0, 5_000, 'the call to end');
      expect(await database.names()).toEqual([]);
    });
  });

  describe('the idle health check', () => {
    it('runs once for calls arriving together after the client sat idle, not between busy calls', async () => {
      await serve({ healthCheckAfterIdleMs: 200 });
      await rpc.client.call('add', 'first');
      expect(checks).toBe(0);
      await rpc.client.call('get_item', 1);
      expect(checks).toBe(0);
      await sleep(250);
      await Promise.all([1, 1, 1].map((id) => rpc.client.call('get_item', id)));
      expect(checks).toBe(1);
      await rpc.client.call('get_item', 1);
      expect(checks).toBe(1);
    });

    it('healthCheckAfterIdleMs: 0 checks before every call', async () => {
      await serve({ healthCheckAfterIdleMs: 0 });
      await rpc.client.call('add', 'a');
      await rpc.client.call('get_item', 1);
      expect(checks).toBe(2);
    });
  });
});

describe('options', () => {
  it('are checked when the middleware is made', () => {
    const create = () => ({}) as never;
    expect(() => zrpcPrisma(undefined as never)).toThrow(TypeError);
    expect(() => zrpcPrisma(create, { healthCheckAfterIdleMs: -1 })).toThrow(RangeError);
    expect(() => zrpcPrisma(create, { healthCheckTimeoutMs: Number.NaN })).toThrow(RangeError);
    expect(() => zrpcPrisma(create, { disposeTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(
      RangeError,
    );
    expect(() =>
      zrpcPrisma(create, { healthCheckAfterIdleMs: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
  });

  it('a LostRemoteError passes through unmapped', async () => {
    const orm = zrpcPrisma(
      () =>
        ({
          $queryRawUnsafe: async () => 1,
          $transaction: async () => 1,
          $disconnect: async () => {},
        }) as never,
      {
        healthCheckAfterIdleMs: Number.POSITIVE_INFINITY,
      },
    );
    const lost = new LostRemoteError(100);
    const ctx = {
      method: 'm',
      stream: false,
      signal: new AbortController().signal,
      state: new Map(),
    } as never;
    await expect(orm.middleware(ctx, () => Promise.reject(lost))).rejects.toBe(lost);
  });
});
