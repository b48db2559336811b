import type { ClientMiddleware } from '@zrpc/core';
import { durationMs } from '@zrpc/core/protocol';
import type { Dealer, SocketOptions } from 'zeromq';

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
}

export interface ClientOptions {
  /** Where the server(s) listen, e.g. `tcp://127.0.0.1:4242`; more can be added with `connect`. */
  endpoints?: string | string[];
  /** Default call timeout in ms (reference default: 30 s). */
  timeoutMs?: number;
  /** Default heartbeat interval in ms (reference default: 5 s). */
  heartbeatMs?: number;
  /** Client middleware, outermost first (see `ClientMiddleware` in @zrpc/core). */
  middleware?: ClientMiddleware[];
  /**
   * Settings of the DEALER socket, passed to zeromq.js as they are (high-water
   * marks, TCP keepalive, `maxMessageSize`, CURVE keys...). They override the
   * client's own, `immediate: true`, `sendTimeout: 0` and `linger: 0`, which
   * the call semantics rely on: change those only knowing why (connection.ts).
   */
  socket?: ClientSocketOptions;
}

/** The zeromq.js options of a client's DEALER socket. */
export type ClientSocketOptions = SocketOptions<Dealer>;

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_HEARTBEAT_MS = 5_000;

/** The effective settings of one call: per-call options over the client's defaults. */
export interface CallSettings {
  timeoutMs: number;
  heartbeatMs: number;
  signal: AbortSignal | undefined;
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
  };
}

/** `endpoints` as a list, whichever way it was given. */
export function endpointList(endpoints: string | string[] | undefined): string[] {
  if (endpoints === undefined) return [];
  return typeof endpoints === 'string' ? [endpoints] : [...endpoints];
}
