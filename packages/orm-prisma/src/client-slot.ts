import type { PrismaClientLike } from './types.js';

/**
 * One PrismaClient and the calls using it. A client whose connections
 * turned out dead is retired: calls that hold it finish with it, new calls
 * get a fresh client, and the retired one is disconnected once its last
 * call is done. Replacing the client rather than `$disconnect()`-ing it in
 * place matters: `$disconnect()` waits for every query in flight (forever
 * on a half-open connection) and aborts the interactive transactions of
 * calls that are still running.
 */
export class ClientSlot<C extends PrismaClientLike> {
  /** Calls running on this client. */
  users = 0;
  /** When a call on it last ended, or a health check last passed (ms, monotonic). */
  lastUsed = performance.now();
  /** Whether a query has succeeded on it: a client that never connected is not replaced. */
  proven = false;
  retired = false;
  /** The health check in progress, shared by the calls that wait for it. */
  checking: Promise<void> | undefined;
  private disposal: Promise<void> | undefined;
  private markClosed!: () => void;
  /** Settles once the client has been disconnected (or given up on). */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(
    readonly client: C,
    private readonly disposeTimeoutMs: number,
    private readonly warn: (message: string) => void,
  ) {}

  release(): void {
    this.users--;
    this.lastUsed = performance.now();
    if (this.retired && this.users === 0) void this.dispose();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.users === 0) void this.dispose();
  }

  /** Disconnect, giving up after `disposeTimeoutMs` (sockets on a cut network never close). */
  dispose(): Promise<void> {
    this.disposal ??= new Promise<void>((settle) => {
      const resolve = () => {
        settle();
        this.markClosed();
      };
      const timer = setTimeout(() => {
        this.warn(
          `@zrpc/orm-prisma: a replaced Prisma client did not disconnect within ${this.disposeTimeoutMs} ms; left to the OS`,
        );
        resolve();
      }, this.disposeTimeoutMs);
      timer.unref();
      this.client.$disconnect().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.warn(
            `@zrpc/orm-prisma: disconnecting a replaced Prisma client failed: ${String(error)}`,
          );
          resolve();
        },
      );
    });
    return this.disposal;
  }
}
