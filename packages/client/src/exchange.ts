import { LostRemoteError, ProtocolError, TimeoutError } from '@zrpc/core';
import {
  CANCEL,
  Channel,
  type ChannelSink,
  ChannelTimer,
  channelHeader,
  ERR,
  type EventHeader,
  encodeEvent,
  monotonicNow,
  OK,
  okValue,
  remoteErrorOf,
  requestHeader,
  STREAM,
  STREAM_DONE,
  type ZEvent,
  ZRPC_HEARTBEAT_KEY,
} from '@zrpc/core/protocol';
import type { Connection, Outgoing, Route } from './connection.js';
import { NotConnectedError } from './errors.js';
import { RemoteStream } from './stream.js';

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
  /** Told the header of the first reply event (for client middleware). */
  onReplyHeader?(header: Readonly<EventHeader>): void;
  /** Told why the call was abandoned (lost, timeout, abort, close), unless it is sent again. */
  onAbandon?(error: unknown): void;
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
  /**
   * Set until the client's first connection: the request must leave by
   * `by` (monotonic ms), else the call fails with a `NotConnectedError`
   * after `timeoutMs` (the client's `connectTimeoutMs`).
   */
  connect?: { timeoutMs: number; by: number };
}

/** What an exchange asks of the client that started it. */
export interface ExchangeHost {
  /** The call ended (`error`: it was abandoned, or failed before any reply). */
  ended(exchange: Exchange, error?: unknown): void;
  /** The call failed before its first reply: a new attempt elsewhere, or undefined to fail. */
  again(exchange: Exchange, error: unknown): Promise<unknown> | undefined;
  /** Whether a request not yet sent may leave its server, now out of rotation, for another. */
  canMove(exchange: Exchange): boolean;
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

const NOTHING = new Uint8Array(0);

/** A heartbeat or a credit grant: dropped, not sent, if its call ended while it waited. */
class ControlEvent implements Outgoing {
  constructor(
    readonly payload: Uint8Array,
    private readonly exchange: Exchange,
  ) {}

  wanted(): boolean {
    return !this.exchange.closed;
  }
}

/**
 * One call on a connection: the request, its channel (heartbeat, credit,
 * lost remote), the wait for the first reply under the call timeout, then
 * for a stream its items. Every ending (reply, error, timeout, abort, lost
 * remote, close) goes through `end`, which leaves no route, channel, timer
 * or listener behind.
 */
export class Exchange implements Route, ChannelSink, Outgoing {
  readonly id: Uint8Array;
  /** The encoded request, until the socket takes it. */
  payload: Uint8Array = NOTHING;
  /** The connection's key for this call's route, once open. */
  private routeKey: number | undefined;
  /** Set when a stream begins: resolves its `ended` promise (plain calls need none). */
  private markEnded: (() => void) | undefined;
  private done = false;
  /** The server sent its final event (OK, ERR, STREAM_DONE): nothing left to cancel. */
  private answered = false;
  private channel: Channel | undefined;
  private timer: ChannelTimer | undefined;
  /** When the wait for the first reply times out; undefined once a stream has begun. */
  private replyDue: number | undefined;
  private stream: RemoteStream | undefined;
  private resolveReply!: (value: unknown) => void;
  private rejectReply!: (error: unknown) => void;

  constructor(
    /** The server's socket: the request, heartbeats, credit and any cancel go there only. */
    readonly connection: Connection,
    readonly spec: ExchangeSpec,
    private readonly host: ExchangeHost,
  ) {
    this.id = connection.nextId();
  }

  /** Send the request. Resolves with the reply's value, or a `RemoteStream` for a stream. */
  start(): Promise<unknown> {
    for (const signal of this.spec.signals) signal.throwIfAborted();
    this.payload = this.encodeRequest();
    this.routeKey = this.connection.open(this.id, this);
    const reply = new Promise((resolve, reject) => {
      this.resolveReply = resolve;
      this.rejectReply = reject;
    });
    this.replyDue = monotonicNow() + this.spec.timeoutMs;
    // One timer per call, for the call timeout and the channel alike (see `tick`).
    this.timer = new ChannelTimer(this);
    for (const signal of this.spec.signals) signal.addEventListener('abort', this);
    // The exchange is its request's Outgoing: no message object, no closures.
    this.connection.send(this);
    return reply;
  }

  // Outgoing: the request

  wanted(): boolean {
    return !this.done;
  }

  sent(): void {
    this.payload = NOTHING;
    this.openChannel();
  }

  failed(error: unknown): void {
    this.fail(error, true);
  }

  reroute(): boolean {
    if (this.channel !== undefined || this.done || !this.host.canMove(this)) return false;
    this.fail(new RequestNotSent(), true);
    return true;
  }

  // Route

  receive(event: ZEvent): void {
    this.openChannel();
    this.channel?.receive(event, monotonicNow());
  }

  abandon(error: Error): void {
    this.fail(error, true);
  }

  dropped(): void {
    // A request still waiting in this process goes out when a server is back.
    if (this.channel === undefined) return;
    const { heartbeatMs } = this.spec;
    const endpoint = this.connection.endpoint;
    this.lost(
      new LostRemoteError(heartbeatMs, `Lost remote: the connection to ${endpoint} dropped`),
    );
  }

  // ChannelSink

  emit(name: string, args: unknown): void {
    const header = channelHeader(this.connection.nextId(), this.id);
    this.connection.send(new ControlEvent(encodeEvent({ header, name, args }), this));
  }

  deliver(event: ZEvent): void {
    if (this.stream === undefined) this.spec.onReplyHeader?.(event.header);
    if (this.stream !== undefined) {
      if (event.name !== STREAM) this.answered = true;
      this.stream.push(event);
      if (this.stream.buffered > this.spec.credit.window) {
        this.fail(new ProtocolError('the server streamed more events than it was granted'), true);
      }
      return;
    }
    if (event.name !== STREAM) this.answered = true;
    switch (event.name) {
      case OK:
        this.end();
        this.resolveReply(okValue(event.args));
        return;
      case ERR: {
        const error = remoteErrorOf(event.args);
        const retry = this.host.again(this, error);
        this.end();
        if (retry === undefined) this.rejectReply(error);
        else this.resolveReply(retry);
        return;
      }
      case STREAM:
      case STREAM_DONE:
        // The call timeout covers the wait for the first reply only.
        this.replyDue = undefined;
        this.stream = new RemoteStream(
          { pull: () => this.channel?.pull(), close: () => this.end() },
          event,
          new Promise((resolve) => {
            this.markEnded = resolve;
          }),
        );
        this.resolveReply(this.stream);
        return;
      default:
        this.fail(new ProtocolError(`unexpected ${event.name} reply to ${this.spec.method}`), true);
    }
  }

  lost(error: LostRemoteError): void {
    this.fail(error, false);
  }

  // What the call's ChannelTimer drives: the call timeout, then the channel.

  get deadline(): number {
    // Until the request has left there is no channel: look again a
    // heartbeat from now, since a channel opened meanwhile is due no earlier.
    const channelDue = this.channel?.deadline ?? this.unsentDue();
    return this.replyDue === undefined ? channelDue : Math.min(this.replyDue, channelDue);
  }

  /** While the request waits to leave: the connect deadline, if any, or a heartbeat from now. */
  private unsentDue(): number {
    const lookAgain = monotonicNow() + this.spec.heartbeatMs;
    const connect = this.spec.connect;
    return connect === undefined ? lookAgain : Math.min(connect.by, lookAgain);
  }

  get closed(): boolean {
    return this.done;
  }

  /** What is left of the call timeout (0 once a stream has begun: nothing to resend then). */
  get timeLeftMs(): number {
    return this.replyDue === undefined ? 0 : Math.max(0, this.replyDue - monotonicNow());
  }

  tick(now: number): void {
    const connect = this.spec.connect;
    if (this.replyDue !== undefined && now >= this.replyDue) this.timedOut();
    else if (this.channel === undefined && connect !== undefined && now >= connect.by) {
      const { method, endpoints } = this.spec;
      this.fail(new NotConnectedError(connect.timeoutMs, method, endpoints), true);
    } else this.channel?.tick(now);
  }

  private encodeRequest(): Uint8Array {
    const header = requestHeader(this.id, this.spec.context);
    // Our pace, for a zrpc server (reference servers ignore the key).
    header[ZRPC_HEARTBEAT_KEY] = this.spec.heartbeatMs;
    try {
      return encodeEvent({ header, name: this.spec.method, args: this.spec.args });
    } catch (error) {
      throw new TypeError(
        `cannot encode the request for ${this.spec.method}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** The request left: from now on the channel heartbeats and watches the remote. */
  private openChannel(): void {
    if (this.channel !== undefined || this.done) return;
    this.channel = new Channel(this.id, this, {
      heartbeatMs: this.spec.heartbeatMs,
      assumedRemoteHeartbeatMs:
        this.connection.serverHeartbeatMs ?? this.spec.assumedPeerHeartbeatMs,
      now: monotonicNow(),
      inputQueueSize: this.spec.credit.window,
      topUpBelow: this.spec.credit.topUpBelow,
    });
    // The first reply is the first event this side asks for.
    this.channel.pull();
  }

  private timedOut(): void {
    const { timeoutMs, method } = this.spec;
    this.fail(
      this.channel === undefined
        ? new NotConnectedError(timeoutMs, method, this.spec.endpoints)
        : new TimeoutError(timeoutMs, method),
      true,
    );
  }

  /** One of the call's signals aborted (the Exchange is their listener: no closure per call). */
  handleEvent(): void {
    const signal = this.spec.signals.find((s) => s.aborted);
    this.fail(signal?.reason, true);
  }

  /** End abnormally; a stream's consumer sees `error` (after what it already received, unless `discard`). */
  private fail(error: unknown, discard: boolean): void {
    if (this.done) return;
    const retry = this.stream === undefined ? this.host.again(this, error) : undefined;
    this.end(error, retry !== undefined);
    if (this.stream !== undefined) this.stream.fail(error, discard);
    else if (retry !== undefined) this.resolveReply(retry);
    else this.rejectReply(error);
  }

  /**
   * The call ends before its final reply (the consumer left a stream, an
   * abort, a timeout): tell a zrpc server, so that it frees the call's slot
   * now rather than when our heartbeats stop. A reference server never
   * showed the header key, so it is never sent this event it does not know.
   * Before the call's first reply, what the connection's other calls showed
   * decides; on a connection that has heard nothing yet, nothing is sent
   * and the server frees the slot when our heartbeats lapse.
   */
  private cancelOnServer(error: unknown): void {
    const channel = this.channel;
    if (this.answered || channel === undefined) return;
    if (!channel.remoteIsZrpc && this.connection.serverHeartbeatMs === undefined) return;
    if (error instanceof LostRemoteError || this.connection.closed) return;
    const header = channelHeader(this.connection.nextId(), this.id);
    const payload = encodeEvent({ header, name: CANCEL, args: [] });
    this.connection.send({ payload, wanted: () => !this.connection.closed });
  }

  /** Release everything the call holds; false if it had already ended. */
  private end(error?: unknown, retried = false): boolean {
    if (this.done) return false;
    this.done = true;
    this.cancelOnServer(error);
    this.timer?.stop();
    this.channel?.close();
    if (this.routeKey !== undefined) this.connection.remove(this.routeKey);
    for (const signal of this.spec.signals) signal.removeEventListener('abort', this);
    this.markEnded?.();
    this.host.ended(this, error);
    if (error !== undefined && !retried) this.spec.onAbandon?.(error);
    return true;
  }
}
