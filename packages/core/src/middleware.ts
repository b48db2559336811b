import type { EventHeader } from './codec.js';

/** What every call looks like to middleware, on either side. */
export interface CallContext {
  readonly side: 'server' | 'client';
  readonly method: string;
  readonly args: readonly unknown[];
  /**
   * Task context: the header keys a call carries besides `message_id`, `v`
   * and `response_to` (trace ids, for instance). On the server these came
   * with the request; on the client they go out with it. A call made inside
   * a server handler starts with the handler's task context.
   */
  readonly taskContext: Record<string, unknown>;
  /** Aborts when the call is abandoned: lost remote, timeout, cancel, shutdown. */
  readonly signal: AbortSignal;
  /** Room for middleware to hand things to each other and to handlers. */
  readonly state: Map<unknown, unknown>;
}

export interface ServerCallContext extends CallContext {
  readonly side: 'server';
  /** The request's header exactly as it arrived. */
  readonly header: Readonly<EventHeader>;
  /** Keys added to the header of every event the server sends on this call. */
  readonly replyHeader: Record<string, unknown>;
  /** The caller's ZeroMQ routing identity, hex. */
  readonly peer: string;
  /** Whether the method streams. */
  readonly stream: boolean;
  /** The handler's return value, once `next()` has resolved (plain calls). */
  result?: unknown;
  /** Whether an error reply carries the traceback (from the server option; may be changed). */
  tracebacks: boolean;
}

export interface ClientCallContext extends CallContext {
  readonly side: 'client';
  /** The call's timeout in ms. */
  readonly timeoutMs: number;
  /** The channel heartbeat in ms. */
  readonly heartbeatMs: number;
  /**
   * Once `next()` resolves: the reply value, or for a stream the
   * AsyncIterable of its items (the stream itself is still flowing).
   */
  result?: unknown;
}

/**
 * An onion middleware: code before `await next()` runs before the call,
 * code after it runs after; a `try/catch` around `next()` sees the error the
 * call ended with and may replace it. Wrapping `next()` in a scope
 * (AsyncLocalStorage.run, a transaction) wraps the whole call; on the server
 * that includes the full life of a stream.
 */
export type Middleware<C extends CallContext = CallContext> = (
  ctx: C,
  next: () => Promise<void>,
) => Promise<void>;

export type ServerMiddleware = Middleware<ServerCallContext>;
export type ClientMiddleware = Middleware<ClientCallContext>;

/** A runnable chain: the middlewares, then `inner` at the centre. */
export type ComposedMiddleware<C> = (ctx: C, inner: () => Promise<void>) => Promise<void>;

/**
 * Compose middlewares once, at start-up, into one function (the koa-compose
 * reading). Calling `next()` twice in one middleware is an error.
 */
export function compose<C extends CallContext>(
  middleware: readonly Middleware<C>[],
): ComposedMiddleware<C> {
  for (const fn of middleware) {
    if (typeof fn !== 'function') throw new TypeError('middleware must be functions');
  }
  const chain = [...middleware];
  if (chain.length === 0) return (_ctx, inner) => inner();
  return (ctx, inner) => {
    let last = -1;
    const dispatch = (index: number): Promise<void> => {
      if (index <= last) return Promise.reject(new Error('next() called more than once'));
      last = index;
      try {
        if (index === chain.length) return inner();
        return chain[index]!(ctx, () => dispatch(index + 1));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return dispatch(0);
  };
}

/** Header keys that belong to the protocol, not to task context. */
export const PROTOCOL_HEADER_KEYS: ReadonlySet<string> = new Set([
  'message_id',
  'v',
  'response_to',
]);

/** The task context carried by a header: every key but the protocol's own. */
export function taskContextOf(header: Readonly<EventHeader>): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const key of Object.keys(header)) {
    if (!PROTOCOL_HEADER_KEYS.has(key)) context[key] = header[key];
  }
  return context;
}
