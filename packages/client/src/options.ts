import type { CallObserver, ClientMiddleware, Clock } from '@zrpc/core';
import { durationMs, REFERENCE_HEARTBEAT_MS } from '@zrpc/core/protocol';
import type { ClientSocketOptions } from './connection.js';
import type { DiscoveryOptions } from './discovery.js';
import type { StreamCredit } from './exchange-spec.js';

/** Settings of one call; any of them may be given per call with `withOptions`. */
export interface CallOptions {
  /**
   * How long to wait for the reply, in ms. For a stream it bounds the wait
   * for the first reply only; after that the heartbeat guards the stream.
   */
  timeoutMs?: number;
  /** Heartbeat interval of the call's channel, in ms: silence for two intervals is a lost remote. */
  heartbeatMs?: number;
  /** Cancels the call: it rejects with the signal's reason and its channel closes. */
  signal?: AbortSignal;
  /**
   * The call may run twice without harm. Only then is it sent again, once
   * per other server at most and within its timeout, when its server was
   * lost or cancelled it (shutting down) before any reply came. Default
   * false: nothing is retried. (A request refused unrun, `ServerDrainingError`,
   * goes to another server either way.)
   */
  idempotent?: boolean;
}

export interface ClientOptions {
  /**
   * Where the server(s) listen, e.g. `tcp://127.0.0.1:4242`; more can be
   * added with `connect`. Each address gets a socket of its own; a host
   * name (`tcp://tickets.internal:4242`) stands for every address it
   * resolves to, and is resolved again periodically (see `discovery`).
   */
  endpoints?: string | string[];
  /** How host names in endpoints are resolved, and how often. */
  discovery?: DiscoveryOptions;
  /**
   * The credit a stream grants its server: up to `window` items buffered,
   * topped up once fewer than `topUpBelow` granted items remain unreceived
   * (default 1000 and 750; `REFERENCE_CREDIT` is zerorpc's 100 and 50).
   */
  credit?: Partial<StreamCredit>;
  /** Default call timeout in ms (reference default: 30 s). */
  timeoutMs?: number;
  /**
   * How long a call waits for the client's first connection to a server, in
   * ms (default 5000, at most the call's timeout): a wrong endpoint, or a
   * server that is not up, fails the call with `NotConnectedError` after
   * this rather than after the whole call timeout. Once some server has
   * been connected, a call made while none is (a restart) waits for one up
   * to its own timeout.
   */
  connectTimeoutMs?: number;
  /** Default heartbeat interval in ms (reference default: 5 s). */
  heartbeatMs?: number;
  /**
   * The heartbeat interval assumed for a server that does not advertise its
   * own (zerorpc-python, zerorpc-node) until two of its heartbeats show its
   * pace; such a server is lost after two of the slower of this and the
   * call's `heartbeatMs` (default 5000, the reference's default). Without
   * it, a client faster than its reference server would declare it lost
   * before its first heartbeat. zrpc servers advertise theirs.
   */
  assumedPeerHeartbeatMs?: number;
  /** Client middleware, outermost first (see `ClientMiddleware` in @zrpc/core). */
  middleware?: ClientMiddleware[];
  /**
   * Told each call's end (`CallEnd` in @zrpc/core: method, server, status,
   * duration, bytes), once per call whatever its retries; for a stream, when
   * it ends. Synchronous and cheap; see `Client.observe`.
   */
  observers?: CallObserver[];
  /**
   * Where the client reads the time and sets its timers (call timeouts,
   * heartbeats, ejection backoff): the real clock by default. Tests pass a
   * fake one.
   */
  clock?: Clock;
  /**
   * Settings of the DEALER socket, passed to zeromq.js as they are (high-water
   * marks, TCP keepalive, `maxMessageSize`, CURVE keys...). They override the
   * client's own, `immediate: true`, `sendTimeout: 0` and `linger: 0`, which
   * the call semantics rely on: change those only knowing why (connection.ts).
   */
  socket?: ClientSocketOptions;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_HEARTBEAT_MS = 5_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** A client's options, checked (a bad one throws here, at construction) and completed. */
export interface ClientSettings {
  /** The defaults of each call (see `callSettings`). */
  timeoutMs: number;
  heartbeatMs: number;
  connectTimeoutMs: number;
  assumedPeerHeartbeatMs: number;
  credit: StreamCredit;
}

export function clientSettings(options: ClientOptions): ClientSettings {
  return {
    timeoutMs: durationMs('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    heartbeatMs: durationMs('heartbeatMs', options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS),
    connectTimeoutMs: durationMs(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ),
    assumedPeerHeartbeatMs: durationMs(
      'assumedPeerHeartbeatMs',
      options.assumedPeerHeartbeatMs ?? REFERENCE_HEARTBEAT_MS,
    ),
    credit: streamCredit(options.credit),
  };
}

/** The reference client's grants: 100 items, topped up when half are used. */
export const REFERENCE_CREDIT: Readonly<StreamCredit> = Object.freeze({
  window: 100,
  topUpBelow: 50,
});

/**
 * zrpc's grants: a window wide enough that the server never waits for a
 * grant while the consumer keeps up (a top-up leaves when a quarter is used,
 * and three quarters are still in hand while it travels).
 */
export const DEFAULT_CREDIT: Readonly<StreamCredit> = Object.freeze({
  window: 1000,
  topUpBelow: 750,
});

/** `credit` checked and completed with the defaults. */
export function streamCredit(credit: Partial<StreamCredit> = {}): StreamCredit {
  const window = credit.window ?? DEFAULT_CREDIT.window;
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`credit.window must be a positive integer, got ${window}`);
  }
  const topUpBelow = credit.topUpBelow ?? Math.floor((window * 3) / 4);
  if (!Number.isInteger(topUpBelow) || topUpBelow < 1 || topUpBelow > window) {
    throw new RangeError(
      `credit.topUpBelow must be an integer from 1 to the window (${window}), got ${topUpBelow}`,
    );
  }
  return { window, topUpBelow };
}

/** The effective settings of one call: per-call options over the client's defaults. */
export interface CallSettings {
  timeoutMs: number;
  heartbeatMs: number;
  signal: AbortSignal | undefined;
  idempotent: boolean;
}

export function callSettings(
  defaults: { timeoutMs?: number; heartbeatMs?: number },
  options: CallOptions,
): CallSettings {
  return {
    timeoutMs: durationMs(
      'timeoutMs',
      options.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ),
    heartbeatMs: durationMs(
      'heartbeatMs',
      options.heartbeatMs ?? defaults.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    ),
    signal: options.signal,
    idempotent: options.idempotent === true,
  };
}

/** `endpoints` as a list, whichever way it was given. */
export function endpointList(endpoints: string | string[] | undefined): string[] {
  if (endpoints === undefined) return [];
  return typeof endpoints === 'string' ? [endpoints] : [...endpoints];
}
