import type { ClientMiddleware } from '@zrpc/core';

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
}

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
    timeoutMs: positive('timeoutMs', options.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    heartbeatMs: positive(
      'heartbeatMs',
      options.heartbeatMs ?? defaults.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    ),
    signal: options.signal,
  };
}

// Node's timers take at most this many ms (longer ones would fire at once).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration option must be a positive number of ms that a timer can wait. */
export function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMER_MS)) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

/** `endpoints` as a list, whichever way it was given. */
export function endpointList(endpoints: string | string[] | undefined): string[] {
  if (endpoints === undefined) return [];
  return typeof endpoints === 'string' ? [endpoints] : [...endpoints];
}
