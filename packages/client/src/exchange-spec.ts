import type { ChannelTimers } from '@zrpc/core/protocol';
import type { ClientCall } from './call-context.js';
import type { CallReport } from './call-report.js';
import type { Connection } from './connection.js';

export interface ExchangeSpec {
  method: string;
  args: readonly unknown[];
  /** Task context: extra request header keys (trace ids...). */
  context: Readonly<Record<string, unknown>>;
  timeoutMs: number;
  heartbeatMs: number;
  /** See `ClientOptions.assumedPeerHeartbeatMs`. */
  assumedPeerHeartbeatMs: number;
  /** The call is cancelled when any of these aborts. */
  signals: readonly AbortSignal[];
  /**
   * The middleware's view of the call, when the client has middleware: told
   * the first reply event's header, and why the call was abandoned (lost,
   * timeout, abort, close) unless it is sent again.
   */
  call?: ClientCall;
  /** The call may be sent again after a lost or refusing server (see `CallOptions`). */
  idempotent: boolean;
  /** Attempts made before this one. */
  retries: number;
  /** Stays on its server whatever happens (a health probe). */
  pinned?: boolean;
  /** The credit a stream grants its server (see `StreamCredit`). */
  credit: StreamCredit;
  /** Where the call could have gone, for a `NotConnectedError`. */
  endpoints: readonly string[];
  /** The call's `CallEnd` in the making, when the client has observers (shared by its attempts). */
  report?: CallReport;
  /**
   * Set until the client's first connection: the request must leave by
   * `by` (on the client's clock), else the call fails with a
   * `NotConnectedError` after `timeoutMs` (the client's `connectTimeoutMs`).
   */
  connect?: { timeoutMs: number; by: number };
}

/** What the client that started an exchange sees of it. */
export interface ExchangeView {
  /** The server's connection that has the call. */
  readonly connection: Connection;
  readonly spec: ExchangeSpec;
  /** What is left of the call timeout (0 once a stream has begun). */
  readonly timeLeftMs: number;
  /** The connection's drops when the request went out (-1: not yet; see `ServerLeaving.said`). */
  readonly drops: number;
}

/** What an exchange asks of the client that started it. */
export interface ExchangeHost {
  /** The clock calls read, and the timers that drive their channels. */
  readonly timers: ChannelTimers;
  /** The call ended (`error`: it was abandoned, or failed before any reply). */
  ended(exchange: ExchangeView, error?: unknown): void;
  /** The call failed before its first reply: a new attempt elsewhere, or undefined to fail. */
  again(exchange: ExchangeView, error: unknown): Promise<unknown> | undefined;
  /** Whether a request not yet sent may leave its server, now out of rotation, for another. */
  canMove(exchange: ExchangeView): boolean;
}

/** How much a stream lets its server send ahead (see `ChannelOptions` in core). */
export interface StreamCredit {
  /** Events granted and buffered at most (the reference's is 100). */
  window: number;
  /** Top the grant up once fewer than this many granted slots remain unused. */
  topUpBelow: number;
}

/**
 * The request never left this process and its server went out of rotation:
 * the caller sends it again elsewhere (not a retry: no server saw it).
 */
export class RequestNotSent extends Error {
  override name = 'RequestNotSent';
}
