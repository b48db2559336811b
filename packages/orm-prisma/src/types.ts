/** Options of an interactive transaction, as `$transaction(fn, options)` takes them. */
export interface TransactionOptions {
  /** How long to wait for a connection to start the transaction (ms; Prisma's default 2000). */
  maxWait?: number;
  /** How long the transaction may stay open (ms; Prisma's default 5000). */
  timeout?: number;
  /** `'ReadCommitted'`, `'Serializable'`... as the generated `Prisma.TransactionIsolationLevel`. */
  isolationLevel?: string;
}

/** What this package needs of a PrismaClient: any generated client fits. */
export interface PrismaClientLike {
  $queryRawUnsafe(query: string, ...values: any[]): PromiseLike<unknown>;
  $transaction<R>(fn: (tx: any) => Promise<R>, options?: any): PromiseLike<R>;
  $disconnect(): PromiseLike<void>;
}

/**
 * What a handler gets from `db()`: the client, or inside an atomic call the
 * transaction client (Prisma's `Prisma.TransactionClient` for the generated
 * client): the model delegates and raw queries, without the connection and
 * transaction management that belongs to the middleware.
 */
export type TransactionClientOf<C> = Omit<
  C,
  '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends' | '$use'
>;

/** Which methods a per-method setting applies to: all, none, a list of names, or a test. */
export type MethodSelector = boolean | readonly string[] | ((method: string) => boolean);

export function selects(selector: MethodSelector | undefined, method: string): boolean {
  if (selector === undefined || typeof selector === 'boolean') return selector ?? false;
  if (typeof selector === 'function') return selector(method);
  return selector.includes(method);
}
