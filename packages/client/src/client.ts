import {
  type ClientCallContext,
  type ComposedMiddleware,
  compose,
  currentCall,
  LostRemoteError,
} from '@zrpc/core';
import { durationMs } from '@zrpc/core/protocol';
import { ClientCall } from './call-context.js';
import { Caller, invoke } from './caller.js';
import { Connection } from './connection.js';
import { ClientClosedError } from './errors.js';
import { Exchange } from './exchange.js';
import {
  type CallOptions,
  type ClientOptions,
  callSettings,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_TIMEOUT_MS,
  endpointList,
} from './options.js';
import type { RemoteMethods, UntypedApi } from './types.js';

const NO_TASK_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A zerorpc client over one DEALER socket: any number of calls in flight
 * at once, each on its own channel.
 */
class ClientBase<Api = UntypedApi> extends Caller<Api> {
  private readonly connection: Connection;
  /** Undefined without middleware: calls then take the direct path (no context, no wrappers). */
  private readonly middleware: ComposedMiddleware<ClientCallContext> | undefined;
  private readonly defaults: { timeoutMs: number; heartbeatMs: number };
  private lostRemote = false;

  constructor(options: ClientOptions = {}) {
    super();
    this.connection = new Connection(options.socket);
    this.defaults = {
      timeoutMs: durationMs('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      heartbeatMs: durationMs('heartbeatMs', options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS),
    };
    const middleware = options.middleware ?? [];
    this.middleware = middleware.length > 0 ? compose(middleware) : undefined;
    for (const endpoint of endpointList(options.endpoints)) this.connect(endpoint);
  }

  /** Connect to one more server; calls are spread over the connected servers. */
  connect(endpoint: string): void {
    if (this.connection.closed) throw new ClientClosedError();
    this.connection.connect(endpoint);
  }

  get endpoints(): readonly string[] {
    return this.connection.endpoints;
  }

  /** Calls and streams in progress (each holds one channel). */
  get openChannels(): number {
    return this.connection.openChannels;
  }

  /** Events received for no open channel (late replies after a timeout...) or unreadable. */
  get droppedEvents(): number {
    return this.connection.droppedEvents;
  }

  /** False once closed, or once a call lost its remote (a pool then replaces this client). */
  get healthy(): boolean {
    return !this.connection.closed && !this.lostRemote;
  }

  /** Fail the calls in flight with `ClientClosedError` and close the socket. */
  async close(): Promise<void> {
    this.connection.close(new ClientClosedError());
  }

  [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    try {
      if (this.connection.closed) throw new ClientClosedError();
      const { timeoutMs, heartbeatMs, signal } = callSettings(this.defaults, options);
      // Inside a server handler the call carries on the handler's task
      // context (trace ids) and is cancelled with it.
      const serverCall = currentCall();
      const signals = signalsOf(signal, serverCall?.signal);
      if (this.middleware === undefined) {
        const context = serverCall?.taskContext ?? NO_TASK_CONTEXT;
        const spec = { method, args, context, timeoutMs, heartbeatMs, signals };
        return new Exchange(this.connection, spec, this.callEnded).start();
      }
      const ctx = new ClientCall(
        method,
        args,
        { ...serverCall?.taskContext },
        timeoutMs,
        heartbeatMs,
      );
      const chain = this.middleware(ctx, async () => {
        const spec = {
          method,
          args,
          context: ctx.taskContext,
          timeoutMs,
          heartbeatMs,
          signals,
          onReplyHeader: (header: ClientCall['replyHeader']) => {
            ctx.replyHeader = header;
          },
        };
        const exchange = new Exchange(this.connection, spec, (error) => {
          this.callEnded(error);
          if (error !== undefined) ctx.abandon(error);
        });
        ctx.result = await exchange.start();
      });
      return chain.then(() => ctx.result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private readonly callEnded = (error?: unknown): void => {
    if (error instanceof LostRemoteError) this.lostRemote = true;
  };
}

const NO_SIGNALS: readonly AbortSignal[] = Object.freeze([]);

/** The signals that cancel a call (most calls have none: no array is made for them). */
function signalsOf(a?: AbortSignal, b?: AbortSignal): readonly AbortSignal[] {
  if (a === undefined) return b === undefined ? NO_SIGNALS : [b];
  return b === undefined ? [a] : [a, b];
}

/** A client whose remote methods are typed from `Api` (see `RemoteMethods`). */
export type Client<Api = UntypedApi> = ClientBase<Api> & RemoteMethods<Api>;

/** `new Client<typeof import('./rpcs.js')>({ endpoints })`. */
export const Client = ClientBase as new <Api = UntypedApi>(options?: ClientOptions) => Client<Api>;

/** The same as `new Client<Api>(options)`. */
export function createClient<Api = UntypedApi>(options?: ClientOptions): Client<Api> {
  return new Client<Api>(options);
}
