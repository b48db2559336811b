import {
  type ClientCallContext,
  type ComposedMiddleware,
  compose,
  currentCall,
  LostRemoteError,
  RemoteError,
} from '@zrpc/core';
import { monotonicNow } from '@zrpc/core/protocol';
import { ClientCall } from './call-context.js';
import { Caller, invoke } from './caller.js';
import type { Connection } from './connection.js';
import { Discovery, namedEndpoint } from './discovery.js';
import { ClientClosedError, NotConnectedError } from './errors.js';
import {
  Exchange,
  type ExchangeHost,
  type ExchangeSpec,
  RequestNotSent,
  type StreamCredit,
} from './exchange.js';
import {
  type CallOptions,
  type ClientOptions,
  callSettings,
  clientSettings,
  endpointList,
} from './options.js';
import { type ServerStats, Servers } from './servers.js';
import type { RemoteMethods, UntypedApi } from './types.js';

const NO_TASK_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_ARGS: readonly unknown[] = Object.freeze([]);
const PING = '_zerorpc_ping';

/**
 * A zerorpc client: one DEALER socket per server address, any number of
 * calls in flight on each, each call on its own channel and staying on the
 * server it was sent to. A new call goes to the server in rotation with the
 * fewest calls open (see `Servers`); host names are resolved to every
 * address they stand for (see `Discovery`).
 */
class ClientBase<Api = UntypedApi> extends Caller<Api> implements ExchangeHost {
  private readonly rotation: Servers;
  private readonly discovery: Discovery;
  private readonly configured: string[] = [];
  /** Undefined without middleware: calls then take the direct path (no context, no wrappers). */
  private readonly middleware: ComposedMiddleware<ClientCallContext> | undefined;
  private readonly defaults: { timeoutMs: number; heartbeatMs: number };
  private readonly credit: StreamCredit;
  private readonly assumedPeerHeartbeatMs: number;
  private readonly connectTimeoutMs: number;

  constructor(options: ClientOptions = {}) {
    super();
    const settings = clientSettings(options);
    this.defaults = { timeoutMs: settings.timeoutMs, heartbeatMs: settings.heartbeatMs };
    this.credit = settings.credit;
    this.assumedPeerHeartbeatMs = settings.assumedPeerHeartbeatMs;
    this.connectTimeoutMs = settings.connectTimeoutMs;
    const middleware = options.middleware ?? [];
    this.middleware = middleware.length > 0 ? compose(middleware) : undefined;
    this.rotation = new Servers(
      options.socket,
      (connection) => this.ping(connection),
      () => this.discovery.failed(),
    );
    this.discovery = new Discovery(this.rotation, options.discovery);
    try {
      for (const endpoint of endpointList(options.endpoints)) this.connect(endpoint);
    } catch (error) {
      this.shutDown();
      throw error;
    }
  }

  /**
   * Connect to one more server, or to every address of a host name; new
   * calls are spread over the servers, calls open elsewhere are untouched.
   */
  connect(endpoint: string): void {
    if (this.rotation.closed) throw new ClientClosedError();
    const named = namedEndpoint(endpoint);
    if (named === undefined) this.rotation.add(endpoint);
    else this.discovery.watch(named.host, named.port);
    this.configured.push(endpoint);
  }

  /** The endpoints as given (host names unresolved); see `servers` for the addresses. */
  get endpoints(): readonly string[] {
    return this.configured;
  }

  /** Each server address: its open calls, its state in the rotation, its ejections. */
  get servers(): ServerStats[] {
    return this.rotation.stats;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.rotation.closed;
  }

  /** Calls and streams in progress (each holds one channel). */
  get openChannels(): number {
    return this.rotation.openChannels;
  }

  /** Events received for no open channel (late replies after a timeout...) or unreadable. */
  get droppedEvents(): number {
    return this.rotation.droppedEvents;
  }

  /** False once closed, or while no server is in rotation (all ejected or none known). */
  get healthy(): boolean {
    return !this.rotation.closed && this.rotation.stats.some((server) => server.state === 'up');
  }

  /** Resolve the endpoints' host names again now (it also happens periodically and after failures). */
  refresh(): Promise<void> {
    return this.discovery.refresh();
  }

  /** Fail the calls in flight with `ClientClosedError` and close the sockets. */
  async close(): Promise<void> {
    this.shutDown();
  }

  [invoke](method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    try {
      if (this.rotation.closed) throw new ClientClosedError();
      const { timeoutMs, heartbeatMs, signal, idempotent } = callSettings(this.defaults, options);
      // Inside a server handler the call carries on the handler's task
      // context (trace ids) and is cancelled with it.
      const serverCall = currentCall();
      const signals = signalsOf(signal, serverCall?.signal);
      const spec: ExchangeSpec = {
        method,
        args,
        context: serverCall?.taskContext ?? NO_TASK_CONTEXT,
        timeoutMs,
        heartbeatMs,
        assumedPeerHeartbeatMs: this.assumedPeerHeartbeatMs,
        signals,
        idempotent,
        retries: 0,
        credit: this.credit,
        endpoints: this.configured,
        connect: this.rotation.connected ? undefined : this.connectDeadline(timeoutMs),
      };
      if (this.middleware === undefined) return this.start(spec);
      const ctx = new ClientCall(
        method,
        args,
        { ...serverCall?.taskContext },
        timeoutMs,
        heartbeatMs,
      );
      const chain = this.middleware(ctx, async () => {
        ctx.result = await this.start({
          ...spec,
          // What the middleware put in the task context (trace ids) goes out.
          context: ctx.taskContext,
          onReplyHeader: (header) => {
            ctx.replyHeader = header;
          },
          onAbandon: (error) => ctx.abandon(error),
        });
      });
      return chain.then(() => ctx.result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ExchangeHost

  ended(exchange: Exchange, error?: unknown): void {
    if (error instanceof LostRemoteError) this.rotation.eject(exchange.connection);
    this.rotation.callEnded(exchange.connection);
  }

  again(exchange: Exchange, error: unknown): Promise<unknown> | undefined {
    const { spec, connection } = exchange;
    // A new attempt gets what is left of the call's timeout, not a fresh one.
    const timeoutMs = Math.floor(exchange.timeLeftMs);
    if (error instanceof RequestNotSent) {
      const moved = timeoutMs < 1 ? undefined : this.resend({ ...spec, timeoutMs }, connection);
      // (Only if its time ran out in the same instant: fail as any unsent call does.)
      return (
        moved ?? Promise.reject(new NotConnectedError(spec.timeoutMs, spec.method, spec.endpoints))
      );
    }
    if (timeoutMs < 1) return undefined;
    const remoteName = error instanceof RemoteError ? error.remoteName : undefined;
    // Refused before any of it ran (shutting down): safe to send elsewhere, idempotent or not.
    const notRun = remoteName === 'ServerDrainingError';
    if (!(notRun || remoteName === 'ServerClosingError' || error instanceof LostRemoteError)) {
      return undefined;
    }
    // A server shutting down or gone takes no more calls, whether or not this one is retried.
    this.rotation.eject(connection);
    if (!(spec.idempotent || notRun) || spec.pinned || this.rotation.closed) return undefined;
    if (spec.retries + 1 >= this.rotation.stats.length) return undefined;
    return this.resend({ ...spec, timeoutMs, retries: spec.retries + 1 }, connection);
  }

  canMove(exchange: Exchange): boolean {
    return exchange.spec.pinned !== true && this.rotation.hasOtherThan(exchange.connection);
  }

  /** Start a call on the best server now, or once one is known (within the call's timeout). */
  private start(spec: ExchangeSpec): Promise<unknown> {
    if (this.rotation.closed) return Promise.reject(new ClientClosedError());
    const connection = this.rotation.pick();
    if (connection !== undefined) return new Exchange(connection, spec, this).start();
    return this.startWhenServer(spec);
  }

  /** Until a first connection, a call waits for one `connectTimeoutMs` at most (see `ClientOptions`). */
  private connectDeadline(timeoutMs: number): ExchangeSpec['connect'] {
    if (this.connectTimeoutMs >= timeoutMs) return undefined;
    return { timeoutMs: this.connectTimeoutMs, by: monotonicNow() + this.connectTimeoutMs };
  }

  /** No server known yet (a name not resolved yet): wait for one, the timeout or an abort. */
  private async startWhenServer(spec: ExchangeSpec): Promise<unknown> {
    const due = monotonicNow() + spec.timeoutMs;
    const waitMs = Math.max(1, Math.ceil(Math.min(due, spec.connect?.by ?? due) - monotonicNow()));
    const stops = [AbortSignal.timeout(waitMs), ...spec.signals];
    let wake = (): void => {};
    const stopped = new Promise<void>((resolve) => {
      wake = resolve;
    });
    for (const signal of stops) signal.addEventListener('abort', wake, { once: true });
    try {
      await Promise.race([this.rotation.whenAny(), stopped]);
    } finally {
      for (const signal of stops) signal.removeEventListener('abort', wake);
    }
    for (const signal of spec.signals) signal.throwIfAborted();
    if (this.rotation.closed) throw new ClientClosedError();
    const connection = this.rotation.pick();
    if (connection === undefined) {
      const waitedMs = spec.connect?.timeoutMs ?? spec.timeoutMs;
      throw new NotConnectedError(waitedMs, spec.method, spec.endpoints);
    }
    const left = Math.max(1, due - monotonicNow());
    return new Exchange(connection, { ...spec, timeoutMs: left }, this).start();
  }

  /** Send the request again on another server, if one is in rotation. */
  private resend(spec: ExchangeSpec, from: Connection): Promise<unknown> | undefined {
    const connection = this.rotation.pick();
    if (connection === undefined || connection === from) return undefined;
    try {
      return new Exchange(connection, spec, this).start();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A health probe: does the server at `connection` answer a ping within a heartbeat? */
  private async ping(connection: Connection): Promise<boolean> {
    const spec: ExchangeSpec = {
      method: PING,
      args: NO_ARGS,
      context: NO_TASK_CONTEXT,
      timeoutMs: this.defaults.heartbeatMs,
      heartbeatMs: this.defaults.heartbeatMs,
      assumedPeerHeartbeatMs: this.assumedPeerHeartbeatMs,
      signals: NO_SIGNALS,
      idempotent: false,
      retries: 0,
      pinned: true,
      credit: this.credit,
      endpoints: [connection.endpoint],
    };
    try {
      await new Exchange(connection, spec, this).start();
      return true;
    } catch {
      return false;
    }
  }

  private shutDown(): void {
    this.discovery.close();
    this.rotation.close(new ClientClosedError());
  }
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
