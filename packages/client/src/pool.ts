import { durationMs } from '@zrpc/core/protocol';
import { Caller, invoke } from './caller.js';
import { Client } from './client.js';
import { AcquireTimeoutError, ClientClosedError } from './errors.js';
import {
  type CallOptions,
  type ClientOptions,
  callSettings,
  DEFAULT_TIMEOUT_MS,
} from './options.js';
import { type GaveUp, Places } from './places.js';
import type { ServerStats } from './servers.js';
import { RemoteStream } from './stream.js';
import type { RemoteMethods, UntypedApi } from './types.js';

export interface PoolOptions extends ClientOptions {
  /** Most calls (and streams) in flight at once through the pool (default 512). */
  max?: number;
  /** How long a call may wait for a free place, in ms (default: the call timeout). */
  acquireTimeoutMs?: number;
}

/** What the pool holds right now. */
export interface PoolStats {
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
}

/**
 * Calls in flight at once by default. The client multiplexes them over one
 * socket per server, so a place costs a call's memory, not a connection,
 * and the more calls travel together the less each costs: 512 callers
 * through a pool of 64 ran at 0.74 of the rate of 512 calls in flight on a
 * bare zeromq.js socket, through 128 at 0.79, 256 at 0.85, 512 at 0.98
 * (the client bench, 2 cores, one run). The server's own defaults (1000
 * channels per client, 1000 calls running) take 512 from one client.
 */
const DEFAULT_MAX = 512;

/**
 * The original's `RPCClient` (redis-py's BlockingConnectionPool): a bound
 * on calls in flight, a wait in line for a place when it is reached, an
 * acquire timeout that fails clearly. What it lends is a place on one
 * shared `Client`, which multiplexes every call over one socket per
 * server: a call holds its place for its whole life (a stream until its
 * iteration ends). Broken parts are the client's servers: one that drops
 * or loses a call's remote is ejected and pinged back (see `Servers`).
 */
class RPCClientBase<Api = UntypedApi> extends Caller<Api> {
  private readonly client: Client;
  private readonly places: Places;
  private readonly acquireTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(options: PoolOptions = {}) {
    super();
    const { max = DEFAULT_MAX, acquireTimeoutMs, ...clientOptions } = options;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be a positive integer, got ${max}`);
    }
    this.acquireTimeoutMs = durationMs(
      'acquireTimeoutMs',
      acquireTimeoutMs ?? clientOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    // Bad durations fail here, not at the first call.
    callSettings(clientOptions, {});
    this.client = new Client(clientOptions);
    this.places = new Places(max, this.client.timers);
  }

  get stats(): PoolStats {
    const { made, lent, waiting } = this.places;
    const servers = this.client.servers;
    const ejections = servers.reduce((sum, server) => sum + server.ejections, 0);
    return {
      size: made,
      available: made - lent,
      borrowed: lent,
      pending: waiting,
      servers,
      ejections,
    };
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
    this.closing ??= this.places.idle().then(() => {
      this.places.made = 0;
      return this.client.close();
    });
    return this.closing;
  }

  async [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    if (this.closing !== undefined) throw new ClientClosedError();
    const places = this.places;
    // A free place is taken at once: no promise, no timer. Only a caller
    // that must wait gets its acquire timeout (and its signal is heard).
    if (!places.take()) await this.waitForPlace(method, options.signal);
    let reply: unknown;
    try {
      reply = await this.client[invoke](method, args, options);
    } catch (error) {
      places.giveBack();
      throw error;
    }
    if (reply instanceof RemoteStream) void reply.ended.then(() => places.giveBack());
    else places.giveBack();
    return reply;
  }

  /** Wait for a place, up to the acquire timeout; an abort rejects at once. */
  private async waitForPlace(method: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.places.wait(this.acquireTimeoutMs, signal);
    } catch (why) {
      const gaveUp = why as GaveUp;
      if (!gaveUp.timedOut) throw gaveUp.reason;
      throw new AcquireTimeoutError(this.acquireTimeoutMs, method, this.places.max);
    }
  }
}

/** A pool whose remote methods are typed from `Api` (see `RemoteMethods`). */
export type RPCClient<Api = UntypedApi> = RPCClientBase<Api> & RemoteMethods<Api>;

/** `new RPCClient<typeof import('./rpcs.js')>({ endpoints, max: 64 })`. */
export const RPCClient = RPCClientBase as new <Api = UntypedApi>(
  options?: PoolOptions,
) => RPCClient<Api>;
