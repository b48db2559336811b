import type { CallOptions } from './options.js';
import { withRemoteMethods } from './proxy.js';
import { DONE, RemoteStream } from './stream.js';
import type {
  Args,
  CallResult,
  ItemOf,
  MethodName,
  RemoteMethods,
  ReplyOf,
  StreamName,
  UntypedApi,
} from './types.js';

/** The one way into a client or pool: run a call, resolve with its value or RemoteStream. */
export const invoke: unique symbol = Symbol('zrpc.invoke');

/**
 * The calling API that a client, a pool and their `withOptions` views
 * share, over one primitive (`[invoke]`) each of them implements.
 */
export abstract class Caller<Api = UntypedApi> {
  /** Per-call options applied to every call made through this object. */
  protected callOptions: CallOptions = {};

  abstract [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown>;

  /**
   * Call `method`. Resolves with the reply's value, or with an AsyncIterable
   * when the server streams (the server decides). The returned promise is
   * itself async-iterable over a stream's items:
   * `for await (const x of client.call('count', 3))`.
   */
  call<K extends MethodName<Api>>(method: K, ...args: Args<Api, K>): ReplyOf<Api, K> {
    const reply = this[invoke](method, args as unknown[], this.callOptions) as CallResult &
      Partial<Record<typeof CALLED, string>>;
    // Plain property stores of a shared function and the method's name: a
    // closure, or Object.assign with a fresh object literal, costs more, on
    // every call.
    reply[Symbol.asyncIterator] = iterateReply;
    reply[CALLED] = method;
    return reply as ReplyOf<Api, K>;
  }

  /**
   * The items `method` streams. The call starts at the first `next()`;
   * its errors surface there. Leaving the loop early closes the call.
   */
  stream<K extends StreamName<Api>>(
    method: K,
    ...args: Args<Api, K>
  ): AsyncIterableIterator<ItemOf<Api, K>> {
    return new StreamHandle(
      () => this[invoke](method, args as unknown[], this.callOptions),
      method,
    );
  }

  /**
   * The same API with per-call options: `client.withOptions({ timeoutMs:
   * 500, signal }).call('slow')` or `.slow()`. Views are cheap; options
   * given here override the client's defaults and any enclosing view's.
   */
  withOptions(options: CallOptions): Caller<Api> & RemoteMethods<Api> {
    return new OptionsView(this, { ...this.callOptions, ...options }) as Caller<Api> &
      RemoteMethods<Api>;
  }
}

// Clients, pools and views alike: `client.add(1, 2)` calls the remote `add`.
withRemoteMethods(Caller.prototype);

class OptionsView<Api> extends Caller<Api> {
  constructor(
    private readonly target: Caller<Api>,
    options: CallOptions,
  ) {
    super();
    this.callOptions = options;
  }

  [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    return this.target[invoke](method, args, options);
  }
}

/** The method a call promise of `call()` is the reply of. */
const CALLED = Symbol('zrpc.called');

/** `[Symbol.asyncIterator]` of a call promise: iterates the stream it resolves with. */
function iterateReply<T>(this: Promise<unknown> & { [CALLED]?: string }): StreamHandle<T> {
  return new StreamHandle(() => this, this[CALLED] ?? 'the method');
}

/** An iterator over the stream a pending (or not yet started) call will answer with. */
class StreamHandle<T> implements AsyncIterableIterator<T> {
  private stream: Promise<AsyncIterator<T>> | undefined;
  private closed = false;

  constructor(
    private readonly start: () => Promise<unknown>,
    private readonly method: string,
  ) {}

  async next(): Promise<IteratorResult<T>> {
    if (this.closed) return DONE;
    this.stream ??= this.start().then((reply) => streamOf<T>(reply, this.method));
    return (await this.stream).next();
  }

  async return(): Promise<IteratorResult<T>> {
    this.closed = true;
    const stream = await this.stream?.catch(() => undefined);
    await stream?.return?.();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function streamOf<T>(reply: unknown, method: string): AsyncIterator<T> {
  if (reply instanceof RemoteStream) return reply as RemoteStream<T>;
  throw new TypeError(`${method} answered with a single value, not a stream: use call()`);
}
