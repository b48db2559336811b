import { durationMs } from '@zrpc/core/protocol';
import { createPool, type Pool } from 'generic-pool';
import { Caller, invoke } from './caller.js';
import { Client } from './client.js';
import { AcquireTimeoutError, ClientClosedError } from './errors.js';
import {
  type CallOptions,
  type ClientOptions,
  callSettings,
  DEFAULT_TIMEOUT_MS,
} from './options.js';
import { RemoteStream } from './stream.js';
import type { RemoteMethods, UntypedApi } from './types.js';

export interface PoolOptions extends ClientOptions {
  /** Most clients (each one DEALER socket) at once (default 8). */
  max?: number;
  /** Clients kept open even when idle (default 0). */
  min?: number;
  /** How long a call may wait for a free client, in ms (default: the call timeout). */
  acquireTimeoutMs?: number;
  /** An idle client is closed after this many ms (default 30 000). */
  idleTimeoutMs?: number;
}

/** What the pool holds right now. */
export interface PoolStats {
  /** Clients open (idle and lent). */
  size: number;
  /** Idle clients. */
  available: number;
  /** Clients lent to calls or streams. */
  borrowed: number;
  /** Calls waiting for a client. */
  pending: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * A pool of clients (the original's `RPCClient`, redis-py style), on
 * generic-pool: each call borrows one client for its whole life (a
 * stream until its iteration ends), LIFO so that idle ones can expire;
 * a client whose remote was lost is destroyed instead of reused.
 */
class RPCClientBase<Api = UntypedApi> extends Caller<Api> {
  private readonly pool: Pool<Client>;
  private readonly acquireTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(options: PoolOptions = {}) {
    super();
    const {
      max = 8,
      min = 0,
      acquireTimeoutMs,
      idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
      ...clientOptions
    } = options;
    this.acquireTimeoutMs = durationMs(
      'acquireTimeoutMs',
      acquireTimeoutMs ?? clientOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    durationMs('idleTimeoutMs', idleTimeoutMs);
    // Bad durations fail here, not at the first call.
    callSettings(clientOptions, {});
    this.pool = createPool<Client>(
      {
        create: async () => new Client(clientOptions),
        destroy: (client) => client.close(),
        validate: async (client) => client.healthy,
      },
      {
        max,
        min,
        fifo: false,
        testOnBorrow: true,
        acquireTimeoutMillis: this.acquireTimeoutMs,
        idleTimeoutMillis: idleTimeoutMs,
        evictionRunIntervalMillis: Math.min(idleTimeoutMs, 1000),
        numTestsPerEvictionRun: max,
      },
    );
  }

  get stats(): PoolStats {
    const { size, available, borrowed, pending } = this.pool;
    return { size, available, borrowed, pending };
  }

  /**
   * Stop lending, wait until every borrowed client is back (streams
   * included), then close them all. Calls made meanwhile fail with
   * `ClientClosedError`.
   */
  close(): Promise<void> {
    this.closing ??= this.pool.drain().then(() => this.pool.clear());
    return this.closing;
  }

  async [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    const client = await this.acquire(method, options.signal);
    let reply: unknown;
    try {
      reply = await client[invoke](method, args, options);
    } catch (error) {
      this.giveBack(client);
      throw error;
    }
    if (reply instanceof RemoteStream) void reply.ended.then(() => this.giveBack(client));
    else this.giveBack(client);
    return reply;
  }

  /** Borrow a client; an abort while waiting rejects at once (the client, once lent, goes back). */
  private acquire(method: string, signal: AbortSignal | undefined): Promise<Client> {
    if (this.closing !== undefined) return Promise.reject(new ClientClosedError());
    signal?.throwIfAborted();
    const lent = this.pool.acquire().catch((error: Error) => {
      throw error.name === 'TimeoutError'
        ? new AcquireTimeoutError(this.acquireTimeoutMs, method, this.pool.max)
        : error;
    });
    if (signal === undefined) return lent;
    return new Promise((resolve, reject) => {
      const abort = () => reject(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      lent.then(
        (client) => {
          signal.removeEventListener('abort', abort);
          if (signal.aborted) void this.pool.release(client);
          else resolve(client);
        },
        (error) => {
          signal.removeEventListener('abort', abort);
          reject(error);
        },
      );
    });
  }

  private giveBack(client: Client): void {
    void (client.healthy ? this.pool.release(client) : this.pool.destroy(client));
  }
}

/** A pool whose remote methods are typed from `Api` (see `RemoteMethods`). */
export type RPCClient<Api = UntypedApi> = RPCClientBase<Api> & RemoteMethods<Api>;

/** `new RPCClient<typeof import('./rpcs.js')>({ endpoints, max: 8 })`. */
export const RPCClient = RPCClientBase as new <Api = UntypedApi>(
  options?: PoolOptions,
) => RPCClient<Api>;
