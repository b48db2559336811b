import {
  currentCall,
  type Registry,
  rpc,
  type ServerCallContext,
  type ServerMiddleware,
} from '@zrpc/core';
import { ClientSlot } from './client-slot.js';
import { ConnectionCheckError, isConnectionError } from './connection-errors.js';
import { DEFAULT_ERROR_NAMES, type ErrorNames, explanation, mapDatabaseError } from './errors.js';
import {
  type MethodSelector,
  type PrismaClientLike,
  selects,
  type TransactionClientOf,
  type TransactionOptions,
} from './types.js';

export interface ZrpcPrismaOptions {
  /**
   * Before a call, check the client with `SELECT 1` when it has not been
   * used for this long (ms; default 1000; 0 checks before every call,
   * `Infinity` never): Django's connection health checks. A client that
   * fails the check, or does not answer within `healthCheckTimeoutMs`, is
   * replaced before the call runs.
   */
  healthCheckAfterIdleMs?: number;
  /** How long the health check may take before the connection counts as dead (ms; default 2000). */
  healthCheckTimeoutMs?: number;
  /**
   * Methods that run in a transaction (Django's `ATOMIC_REQUESTS`): `db()`
   * is the transaction client; it commits when the call succeeds and rolls
   * back when it fails or its caller is lost. Default: none.
   */
  atomic?: MethodSelector;
  /** Options of those transactions (Prisma's defaults: maxWait 2000 ms, timeout 5000 ms). */
  transaction?: TransactionOptions;
  /**
   * Methods that may run twice: one that fails because the database
   * connection broke runs once more on a fresh client. No other call is
   * ever retried, and streams never are. Default: none.
   */
  idempotent?: MethodSelector;
  /**
   * Prisma error codes to the error names callers see, over
   * `DEFAULT_ERROR_NAMES` (P2025 `DoesNotExist`, P2002 `IntegrityError`...);
   * `false` leaves Prisma's errors as they are.
   */
  errorNames?: ErrorNames | false;
  /** Where a retried method's function is found (default: the `rpc` registry the runner serves). */
  registry?: Registry;
  /** How long a replaced client gets to disconnect before it is left behind (ms; default 5000). */
  disposeTimeoutMs?: number;
  /** Where replacements and disposal trouble are reported (default: console). */
  logger?: { warn(message: string): void };
}

/** A Prisma client made fit for zrpc calls: its middleware, and `db()` for handlers. */
export interface ZrpcPrisma<C extends PrismaClientLike> {
  /** The server middleware: put it in `zrpc.config`'s `middleware` (innermost is best). */
  readonly middleware: ServerMiddleware;
  /**
   * The client for the code running now: inside an atomic call its
   * transaction client, inside another call the client that call started
   * with, outside any call the current client.
   */
  db(): TransactionClientOf<C>;
  /** How many times a client was replaced because its connection was found dead. */
  readonly replacements: number;
  /** Disconnect the current client (and any replaced one still closing). */
  close(): Promise<void>;
}

/**
 * Serve Prisma from zrpc calls the way Django's `close_old_connections()`
 * did: `create` makes a PrismaClient (with its driver adapter); the
 * middleware checks an idle client before a call and replaces one whose
 * connections broke, runs atomic methods in a transaction, and reports
 * Prisma's errors under Django's names.
 *
 * ```ts
 * export const orm = zrpcPrisma(() => new PrismaClient({ adapter: new PrismaPg({ connectionString }) }));
 * // zrpc.config.ts: middleware: [orm.middleware];   rpcs.ts: orm.db().ticket.findMany()
 * ```
 */
export function zrpcPrisma<C extends PrismaClientLike>(
  create: () => C,
  options: ZrpcPrismaOptions = {},
): ZrpcPrisma<C> {
  return new PrismaCalls(create, options);
}

class PrismaCalls<C extends PrismaClientLike> implements ZrpcPrisma<C> {
  private current: ClientSlot<C> | undefined;
  private readonly retired = new Set<ClientSlot<C>>();
  private readonly idleMs: number;
  private readonly checkTimeoutMs: number;
  private readonly errorNames: ErrorNames;
  private readonly warn: (message: string) => void;
  replacements = 0;

  constructor(
    private readonly create: () => C,
    private readonly options: ZrpcPrismaOptions,
  ) {
    if (typeof create !== 'function') {
      throw new TypeError(
        'zrpcPrisma(create): create must be a function that returns a PrismaClient',
      );
    }
    this.idleMs = duration('healthCheckAfterIdleMs', options.healthCheckAfterIdleMs ?? 1000, true);
    this.checkTimeoutMs = duration('healthCheckTimeoutMs', options.healthCheckTimeoutMs ?? 2000);
    duration('disposeTimeoutMs', options.disposeTimeoutMs ?? 5000);
    this.errorNames =
      options.errorNames === false ? {} : { ...DEFAULT_ERROR_NAMES, ...options.errorNames };
    const logger = options.logger ?? console;
    this.warn = (message) => logger.warn(message);
  }

  db(): TransactionClientOf<C> {
    // The call's `state` (keyed by this instance) rather than an AsyncLocalStorage of our own:
    // the server's already follows the call, and each more one costs on every promise made.
    const bound = currentCall()?.state.get(this) as TransactionClientOf<C> | undefined;
    return bound ?? this.slot().client;
  }

  readonly middleware: ServerMiddleware = async (ctx, next) => {
    const atomic = selects(this.options.atomic, ctx.method);
    let slot = await this.acquire();
    try {
      try {
        await this.run(ctx, slot, atomic, next);
      } catch (error) {
        if (!this.lost(slot, error) || !this.mayRetry(ctx)) throw error;
        slot.release();
        slot = await this.acquire();
        await this.run(ctx, slot, atomic, () => this.callAgain(ctx, error));
      }
    } catch (error) {
      throw mapDatabaseError(error, this.errorNames, this.lost(slot, error));
    } finally {
      slot.release();
    }
  };

  async close(): Promise<void> {
    if (this.current !== undefined) this.retire(this.current);
    this.current = undefined;
    await Promise.all([...this.retired].map((slot) => slot.dispose()));
  }

  /** The current client, made on first use and after a replacement. */
  private slot(): ClientSlot<C> {
    this.current ??= new ClientSlot(
      this.create(),
      this.options.disposeTimeoutMs ?? 5000,
      this.warn,
    );
    return this.current;
  }

  /** The client for a new call, checked first if it sat idle; the call holds it until release. */
  private async acquire(): Promise<ClientSlot<C>> {
    let slot = this.slot();
    if (slot.checking === undefined && performance.now() - slot.lastUsed >= this.idleMs) {
      slot.checking = this.check(slot).finally(() => (slot.checking = undefined));
    }
    if (slot.checking !== undefined) {
      await slot.checking;
      slot = this.slot();
    }
    slot.users++;
    return slot;
  }

  /** `SELECT 1` within the timeout; a client that fails it is replaced. */
  private async check(slot: ClientSlot<C>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectionCheckError(`no answer to SELECT 1 within ${this.checkTimeoutMs} ms`),
          ),
        this.checkTimeoutMs,
      );
    });
    try {
      await Promise.race([slot.client.$queryRawUnsafe('SELECT 1'), timeout]);
      slot.proven = true;
      slot.lastUsed = performance.now();
    } catch (error) {
      this.warn(
        `@zrpc/orm-prisma: health check failed, replacing the Prisma client: ${summary(error)}`,
      );
      this.retire(slot, true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run `inner` with `db()` bound: to the client, or in a transaction to its client. */
  private async run(
    ctx: ServerCallContext,
    slot: ClientSlot<C>,
    atomic: boolean,
    inner: () => Promise<void>,
  ): Promise<void> {
    const client = slot.client;
    if (!atomic) {
      ctx.state.set(this, client);
      await inner();
    } else {
      await client.$transaction((tx: TransactionClientOf<C>) => {
        ctx.state.set(this, tx);
        return inner();
      }, this.options.transaction);
    }
    slot.proven = true;
  }

  /** Did `error` break the connection? Then the client is replaced for the calls to come. */
  private lost(slot: ClientSlot<C>, error: unknown): boolean {
    if (!isConnectionError(error)) return false;
    // A client that never reached the database (it is down) has no dead connections to shed.
    if (slot.proven && !slot.retired) {
      this.warn(
        `@zrpc/orm-prisma: database connection lost, replacing the Prisma client: ${summary(error)}`,
      );
      this.retire(slot);
    }
    return true;
  }

  private mayRetry(ctx: ServerCallContext): boolean {
    return !ctx.stream && !ctx.signal.aborted && selects(this.options.idempotent, ctx.method);
  }

  /** The retry of an idempotent method: its function once more, with the same arguments. */
  private async callAgain(ctx: ServerCallContext, firstError: unknown): Promise<void> {
    const spec = (this.options.registry ?? rpc).get(ctx.method);
    // A method that runs on worker threads is run there by the server alone.
    if (spec?.worker !== undefined) throw firstError;
    if (spec === undefined) {
      this.warn(
        `@zrpc/orm-prisma: cannot retry ${ctx.method}(): it is not in the registry (pass the server's as the \`registry\` option)`,
      );
      throw firstError;
    }
    ctx.result = await spec.fn(...ctx.args);
  }

  private retire(slot: ClientSlot<C>, replaced = slot.proven): void {
    if (slot.retired) return;
    if (replaced) this.replacements++;
    if (this.current === slot) this.current = undefined;
    this.retired.add(slot);
    slot.retire();
    void slot.closed.then(() => this.retired.delete(slot));
  }
}

function duration(name: string, value: number, allowInfinity = false): number {
  const ok = typeof value === 'number' && value >= 0 && (Number.isFinite(value) || allowInfinity);
  if (!ok) throw new RangeError(`${name} must be a number of milliseconds >= 0, got ${value}`);
  return value;
}

/** The gist of an error for a log line: Prisma puts it last, after the source excerpt. */
function summary(error: unknown): string {
  return explanation(error).split('\n').at(-1)!;
}
