import { MiddlewareError } from './errors.js';
import { type EventHeader, PROTOCOL_HEADER_KEYS, setKey } from './events.js';

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
  /**
   * True for a one-way event (push/pull, publish/subscribe): nothing is
   * answered, so a result is dropped and an error is only logged and
   * observed. Absent (or false) for a call.
   */
  readonly oneWay?: boolean;
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
  /**
   * What the handler returned: for a plain call its value, once `next()` has
   * resolved; for a stream the Iterable or AsyncIterable it returned, as
   * soon as the handler ran (its items are being sent while `next()` is
   * pending, and `next()` resolves after the last one).
   */
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
  /**
   * Once the first reply event arrived: its header (keys a server middleware
   * put in its `replyHeader` arrive here).
   */
  replyHeader?: Readonly<EventHeader>;
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
 * reading). Whatever a middleware returns (a promise, another thenable,
 * nothing) becomes a promise here, and the chain is guarded: calling
 * `next()` twice, or finishing before the `next()` it called has settled
 * (a forgotten `await`), fails the call with a `MiddlewareError` naming the
 * middleware. Not calling `next()` at all is allowed: that middleware
 * answers the call itself.
 */
export function compose<C extends CallContext>(
  middleware: readonly Middleware<C>[],
): ComposedMiddleware<C> {
  for (const fn of middleware) {
    if (typeof fn !== 'function') throw new TypeError('middleware must be functions');
  }
  const chain = [...middleware];
  if (chain.length === 0) return (_ctx, inner) => settle(inner);
  return (ctx, inner) => {
    let last = -1;
    const dispatch = (index: number): Promise<void> => {
      if (index === chain.length) return settle(inner);
      const fn = chain[index]!;
      let downstream: 'not called' | 'pending' | 'settled' = 'not called';
      const next = (): Promise<void> => {
        if (index <= last) {
          return Promise.reject(new MiddlewareError(`${nameOf(fn, index)} called next() twice`));
        }
        last = index;
        downstream = 'pending';
        const rest = dispatch(index + 1);
        // Registered before the middleware can await `rest`, so it runs first.
        const done = (): void => {
          downstream = 'settled';
        };
        rest.then(done, done);
        return rest;
      };
      return settle(fn, ctx, next).then(() => {
        if (downstream === 'pending') {
          throw new MiddlewareError(
            `${nameOf(fn, index)} finished before the rest of the chain: it must await next() (or return it)`,
          );
        }
      });
    };
    return dispatch(0);
  };
}

/**
 * `fn(a, b)` as a native promise, whatever it returns or throws. (Its
 * arguments passed along rather than closed over: no closure per call.)
 */
function settle<A, B>(fn: (a: A, b: B) => unknown, a?: A, b?: B): Promise<void> {
  try {
    return Promise.resolve(fn(a as A, b as B)) as Promise<void>;
  } catch (err) {
    return Promise.reject(err);
  }
}

function nameOf(fn: Function, index: number): string {
  return fn.name ? `middleware "${fn.name}" (#${index + 1})` : `middleware #${index + 1}`;
}

/** The task context carried by a header: every key but the protocol's own. */
export function taskContextOf(header: Readonly<EventHeader>): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const key of Object.keys(header)) {
    if (!PROTOCOL_HEADER_KEYS.has(key)) setKey(context, key, header[key]);
  }
  return context;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header (or task context) value as text. zrpc sends str; an older peer
 * may send bin (bytes, in Python 2 style): taken if it is UTF-8. Anything
 * else reads as absent (`undefined`), so that a malformed value is ignored
 * rather than failing the call.
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
