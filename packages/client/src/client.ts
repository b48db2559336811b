/*
 * Over 300 lines on purpose: the Client's public API and the host of its
 * exchanges (where a call goes, whether it is sent again) share the
 * rotation and the defaults. Servers, discovery, the pool and the calling
 * API are rooms of their own (servers.ts, discovery.ts, pool.ts, caller.ts).
 */
import {
  type CallObserver,
  type ClientCallContext,
  type ComposedMiddleware,
  compose,
  currentCall,
  LostRemoteError,
  Observers,
  RemoteError,
  ranNone,
  type ServerCallContext,
  statusOf,
} from '@zrpc/core';
import { ChannelTimers } from '@zrpc/core/protocol';
import { ClientCall } from './call-context.js';
import { CallReport } from './call-report.js';
import { Caller, invoke } from './caller.js';
import type { Connection } from './connection.js';
import { Discovery, namedEndpoint } from './discovery.js';
import { ClientClosedError, NotConnectedError } from './errors.js';
import { Exchange } from './exchange.js';
import {
  type ExchangeHost,
  type ExchangeSpec,
  type ExchangeView,
  RequestNotSent,
  type StreamCredit,
} from './exchange-spec.js';
import {
  type CallOptions,
  type CallSettings,
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
  private readonly observers: Observers;
  readonly timers: ChannelTimers;
  private lastOptions: CallOptions | undefined;
  private lastSettings: CallSettings | undefined;

  constructor(options: ClientOptions = {}) {
    super();
    this.timers = ChannelTimers.of(options.clock);
    this.observers = new Observers(options.observers ?? [], (error) =>
      console.error('zrpc client: a call observer threw (reported once):', error),
    );
    const settings = clientSettings(options);
    this.defaults = { timeoutMs: settings.timeoutMs, heartbeatMs: settings.heartbeatMs };
    this.credit = settings.credit;
    this.assumedPeerHeartbeatMs = settings.assumedPeerHeartbeatMs;
    this.connectTimeoutMs = settings.connectTimeoutMs;
    const middleware = options.middleware ?? [];
    this.middleware = middleware.length > 0 ? compose(middleware) : undefined;
    this.rotation = new Servers(
      this.timers.clock,
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

  /**
   * Tell `observer` of every call's end from now on (see `CallEnd` in
   * @zrpc/core). Answers the function that stops it.
   */
  observe(observer: CallObserver): () => void {
    return this.observers.add(observer);
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
      const { timeoutMs, heartbeatMs, signal, idempotent } = this.settingsOf(options);
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
        // Set below or by the middleware path; present from the start so that
        // every spec has one shape (the exchange reads it on every event).
        report: undefined,
        call: undefined,
      };
      if (this.observers.any) {
        const report = new CallReport(this.observers, method, this.timers.clock);
        spec.report = report;
        return this.run(spec, serverCall).catch((error: unknown) => {
          // A call that failed before any attempt ended (no server, a middleware's throw).
          report.end(error);
          throw error;
        });
      }
      return this.run(spec, serverCall);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The settings of a call made with `options`. The options of a client or
   * a view are one object, used call after call: checked once, not per call.
   */
  private settingsOf(options: CallOptions): CallSettings {
    if (options !== this.lastOptions) {
      this.lastSettings = callSettings(this.defaults, options);
      this.lastOptions = options;
    }
    return this.lastSettings!;
  }

  /** Start the call, through the middleware chain if there is one. */
  private run(spec: ExchangeSpec, serverCall: ServerCallContext | undefined): Promise<unknown> {
    const { method, args, timeoutMs, heartbeatMs } = spec;
    if (this.middleware === undefined) return this.start(spec);
    const taskContext = serverCall === undefined ? {} : { ...serverCall.taskContext };
    const ctx = new ClientCall(method, args, taskContext, timeoutMs, heartbeatMs);
    if (spec.report !== undefined) spec.report.ctx = ctx;
    // What the middleware put in the task context (trace ids) goes out.
    spec.context = ctx.taskContext;
    spec.call = ctx;
    const chain = this.middleware(ctx, () =>
      this.start(spec).then((result) => {
        ctx.result = result;
      }),
    );
    return chain.then(() => ctx.result);
  }

  // ExchangeHost

  ended(exchange: ExchangeView, error?: unknown): void {
    if (error instanceof LostRemoteError) this.rotation.eject(exchange.connection);
    this.rotation.callEnded(exchange.connection);
  }

  again(exchange: ExchangeView, error: unknown): Promise<unknown> | undefined {
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
    // The server is shutting down (it refused the call, or cut it short), or
    // it is lost (our own verdict: a server's ERR passing on a LostRemoteError
    // of its own calls says nothing of this server).
    const status = statusOf(error);
    const remote = error instanceof RemoteError;
    if (!(remote ? status === 'refused_closing' : status === 'lost')) return undefined;
    // Refused before any of it ran: safe to send elsewhere, idempotent or not.
    const notRun = remote && ranNone(error);
    // A server shutting down or gone takes no more calls, whether or not this one is retried.
    this.rotation.eject(connection);
    if (!(spec.idempotent || notRun) || spec.pinned || this.rotation.closed) return undefined;
    const retry = { ...spec, timeoutMs, retries: spec.retries + 1 };
    const moved =
      spec.retries + 1 < this.rotation.stats.length ? this.resend(retry, connection) : undefined;
    if (moved !== undefined || !notRun) return moved;
    // No other server takes it: it waits for whoever listens at that address
    // next (a restart), as do the calls started there meanwhile.
    // (A reply read before the send settled: the request left on the current connection.)
    connection.leaving.said(exchange.drops < 0 ? connection.leaving.drops : exchange.drops);
    return this.startWhenBack(connection, retry, () => error);
  }

  canMove(exchange: ExchangeView): boolean {
    return exchange.spec.pinned !== true && this.rotation.hasOtherThan(exchange.connection);
  }

  /** Start a call on the best server now, or once one is known (within the call's timeout). */
  private start(spec: ExchangeSpec): Promise<unknown> {
    if (this.rotation.closed) return Promise.reject(new ClientClosedError());
    const connection = this.rotation.pick();
    if (connection === undefined) return this.startWhenServer(spec);
    if (connection.leaving.isLeaving) {
      const notConnected = () => new NotConnectedError(spec.timeoutMs, spec.method, spec.endpoints);
      return this.startWhenBack(connection, spec, notConnected);
    }
    return new Exchange(connection, spec, this).start();
  }

  /** Until a first connection, a call waits for one `connectTimeoutMs` at most (see `ClientOptions`). */
  private connectDeadline(timeoutMs: number): ExchangeSpec['connect'] {
    if (this.connectTimeoutMs >= timeoutMs) return undefined;
    return {
      timeoutMs: this.connectTimeoutMs,
      by: this.timers.clock.now() + this.connectTimeoutMs,
    };
  }

  /** No server known yet (a name not resolved yet): wait for one, the timeout or an abort. */
  private async startWhenServer(spec: ExchangeSpec): Promise<unknown> {
    const clock = this.timers.clock;
    const due = clock.now() + spec.timeoutMs;
    const waitMs = Math.max(1, Math.ceil(Math.min(due, spec.connect?.by ?? due) - clock.now()));
    let wake = (): void => {};
    const stopped = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const timeout = clock.setTimeout(wake, waitMs, undefined);
    for (const signal of spec.signals) signal.addEventListener('abort', wake, { once: true });
    try {
      await Promise.race([this.rotation.whenAny(), stopped]);
    } finally {
      clock.clearTimeout(timeout);
      for (const signal of spec.signals) signal.removeEventListener('abort', wake);
    }
    for (const signal of spec.signals) signal.throwIfAborted();
    if (this.rotation.closed) throw new ClientClosedError();
    const connection = this.rotation.pick();
    if (connection === undefined) {
      throw new NotConnectedError(
        spec.connect?.timeoutMs ?? spec.timeoutMs,
        spec.method,
        spec.endpoints,
      );
    }
    const left = Math.max(1, due - clock.now());
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

  /**
   * Start a call on `connection` once it is back (`ServerLeaving.whenBack`):
   * its server said it is leaving (it refused a call unrun,
   * `ServerDrainingError`), so the call goes to whoever listens at the
   * address next (a restart, a reload), within its timeout, else fails with
   * `error()`.
   */
  private async startWhenBack(
    connection: Connection,
    spec: ExchangeSpec,
    error: () => unknown,
  ): Promise<unknown> {
    const clock = this.timers.clock;
    const due = clock.now() + spec.timeoutMs;
    const back = await connection.leaving.whenBack(spec.timeoutMs, spec.signals);
    for (const signal of spec.signals) signal.throwIfAborted();
    if (this.rotation.closed) throw new ClientClosedError();
    const left = Math.floor(due - clock.now());
    if (!back || left < 1) throw error();
    return new Exchange(connection, { ...spec, timeoutMs: left }, this).start();
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
