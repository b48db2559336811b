import type { CallObserver } from '@zrpc/core';
import { durationMs } from '@zrpc/core/protocol';
import { createPool, type Pool } from 'generic-pool';
import { Caller, invoke } from './caller.js';
import { Client } from './client.js';
import { AcquireTimeoutError, ClientClosedError } from './errors.js';
import { type CallOptions, type ClientOptions, clientSettings } from './options.js';
import type { ServerStats } from './servers.js';
import { RemoteStream } from './stream.js';
import type { RemoteMethods, UntypedApi } from './types.js';

export interface PoolOptions extends ClientOptions {
  /** Most calls (and streams) in flight at once through the pool (default 64). */
  max?: number;
  /** How long a call may wait for a free place, in ms (default: the call timeout). */
  acquireTimeoutMs?: number;
}

/** What the pool holds right now. */
export interface PoolStats {
  /** The most places there may be (`max`). */
  max: number;
  /** Places made so far (each the right to one call in flight; at most `max`). */
  size: number;
  /** Places free. */
  available: number;
  /** Calls and streams in flight. */
  borrowed: number;
  /** Calls waiting for a free place. */
  pending: number;
  /** Each server: open calls, state in the rotation (`up`, `ejected`, `draining`), ejections. */
  servers: ServerStats[];
  /** Ejections so far, all servers together. */
  ejections: number;
  /** Calls that gave up waiting for a place (`AcquireTimeoutError`) so far. */
  acquireTimeouts: number;
}

/** The right to one call in flight, on the pool's shared client. */
class Place {
  constructor(readonly client: Client) {}
}

/**
 * Calls in flight at once by default. The client multiplexes them over one
 * socket per server, so a place costs a call's memory, not a connection,
 * and the more calls travel together the less each costs: 512 callers
 * through a pool of 64 ran at 0.74 of the rate of 512 calls in flight on a
 * bare zeromq.js socket, through 128 at 0.79, 256 at 0.85, 512 at 0.98
 * (bench/ab.ts, 2 cores, one session). The server's own defaults (1000
 * channels per client, 1000 calls running) take 512 from one client.
 */
const DEFAULT_MAX = 512;

/**
 * The original's `RPCClient` (redis-py's BlockingConnectionPool, on
 * generic-pool): a bound on calls in flight, LIFO reuse, an acquire timeout
 * that fails clearly when the bound is reached. What it lends is a place on
 * one shared `Client`, which multiplexes every call over one socket per
 * server: a call holds its place for its whole life (a stream until its
 * iteration ends). Broken parts are the client's servers: one that drops
 * or loses a call's remote is ejected and pinged back (see `Servers`).
 */
class RPCClientBase<Api = UntypedApi> extends Caller<Api> {
  private readonly client: Client;
  private readonly pool: Pool<Place>;
  private readonly acquireTimeoutMs: number;
  /** Callers waiting for a place (those that gave up are not counted, though generic-pool still is). */
  private waiting = 0;
  private acquireTimeouts = 0;
  private closing: Promise<void> | undefined;

  constructor(options: PoolOptions = {}) {
    super();
    const { max = DEFAULT_MAX, acquireTimeoutMs, ...clientOptions } = options;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be a positive integer, got ${max}`);
    }
    // The client's options are checked first, before any socket is opened.
    const { timeoutMs } = clientSettings(clientOptions);
    this.acquireTimeoutMs = durationMs('acquireTimeoutMs', acquireTimeoutMs ?? timeoutMs);
    this.client = new Client(clientOptions);
    // A place is only a right to one call: nothing in it can break, so it is
    // not validated per lend (that costs a promise per call). What breaks are
    // servers, and the client's rotation takes those out and back in.
    this.pool = createPool<Place>(
      { create: async () => new Place(this.client), destroy: async () => {} },
      // The acquire timeout is ours, armed only for a caller that must wait.
      { max, fifo: false },
    );
  }

  get stats(): PoolStats {
    const { size, available, borrowed } = this.pool;
    const pending = this.waiting;
    const servers = this.client.servers;
    const ejections = servers.reduce((sum, server) => sum + server.ejections, 0);
    const { max } = this.pool;
    return {
      max,
      size,
      available,
      borrowed,
      pending,
      servers,
      ejections,
      acquireTimeouts: this.acquireTimeouts,
    };
  }

  /**
   * Tell `observer` of every call's end from now on (see `CallEnd` in
   * @zrpc/core); a call that timed out waiting for a place never reached a
   * server and is counted in `stats.acquireTimeouts` instead. Answers the
   * function that stops it.
   */
  observe(observer: CallObserver): () => void {
    return this.client.observe(observer);
  }

  /** The shared client's endpoints as given. */
  get endpoints(): readonly string[] {
    return this.client.endpoints;
  }

  /**
   * Stop lending, wait until every call in flight has ended (streams
   * included), then close the client. Calls made meanwhile fail with
   * `ClientClosedError`.
   */
  close(): Promise<void> {
    this.closing ??= this.pool
      .drain()
      .then(() => this.pool.clear())
      .then(() => this.client.close());
    return this.closing;
  }

  async [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    if (this.closing !== undefined) throw new ClientClosedError();
    const signal = options.signal;
    const pool = this.pool;
    // A place idle now and nobody queued before us: generic-pool lends it at
    // once, so no timeout timer is armed for it (a timer per call is a
    // measurable share of the call).
    const place =
      signal === undefined && pool.available > pool.pending
        ? await pool.acquire()
        : await this.waitForPlace(method, signal);
    let reply: unknown;
    try {
      reply = await place.client[invoke](method, args, options);
    } catch (error) {
      void pool.release(place);
      throw error;
    }
    if (reply instanceof RemoteStream) void reply.ended.then(() => pool.release(place));
    else void pool.release(place);
    return reply;
  }

  /**
   * Wait for a place, up to the acquire timeout; an abort rejects at once.
   * A place lent after the caller gave up goes straight back.
   */
  private waitForPlace(method: string, signal: AbortSignal | undefined): Promise<Place> {
    signal?.throwIfAborted();
    const lent = this.pool.acquire();
    const clock = this.client.timers.clock;
    this.waiting++;
    return new Promise((resolve, reject) => {
      let waiting = true;
      const stop = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        this.waiting--;
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        return true;
      };
      const timer = clock.setTimeout(
        () => {
          if (!stop()) return;
          this.acquireTimeouts++;
          reject(new AcquireTimeoutError(this.acquireTimeoutMs, method, this.pool.max));
        },
        this.acquireTimeoutMs,
        undefined,
      );
      const abort = () => {
        if (stop()) reject(signal!.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      lent.then(
        (place) => {
          if (stop()) resolve(place);
          else void this.pool.release(place);
        },
        (error) => {
          if (stop()) reject(error);
        },
      );
    });
  }
}

/** A pool whose remote methods are typed from `Api` (see `RemoteMethods`). */
export type RPCClient<Api = UntypedApi> = RPCClientBase<Api> & RemoteMethods<Api>;

/** `new RPCClient<typeof import('./rpcs.js')>({ endpoints, max: 64 })`. */
export const RPCClient = RPCClientBase as new <Api = UntypedApi>(
  options?: PoolOptions,
) => RPCClient<Api>;
