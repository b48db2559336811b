/*
 * Over 300 lines on purpose: one call's conversation with its server (its
 * phase, channel, timer, reply and stream) reads best in one place. What
 * needs none of that state lives apart: exchange-spec.ts (what a call is
 * asked to do, what it asks of the client), stream.ts, call-report.ts.
 */
import { LostRemoteError, ProtocolError, type RemoteError, TimeoutError } from '@zrpc/core';
import {
  CANCEL,
  Channel,
  type ChannelSink,
  type ChannelTimer,
  channelHeader,
  clientRequestHeader,
  ERR,
  encodeEvent,
  type Moves,
  move,
  OK,
  okValue,
  remoteErrorOf,
  STREAM,
  STREAM_DONE,
  type ZEvent,
} from '@zrpc/core/protocol';
import type { Connection, Outgoing, Route } from './connection.js';
import { NotConnectedError } from './errors.js';
import {
  type ExchangeHost,
  type ExchangeSpec,
  type ExchangeView,
  RequestNotSent,
} from './exchange-spec.js';
import { RemoteStream } from './stream.js';

const NOTHING = new Uint8Array(0);

/**
 * Where a call is on its connection:
 * - `new`: not started;
 * - `queued`: its request waits in the connection's send queue (routed
 *   already: a reply may overtake the news that the request left);
 * - `open`: the request left; its channel heartbeats and waits for the
 *   first reply, under the call timeout;
 * - `streaming`: the first reply began a stream; its consumer reads it
 *   (the call timeout no longer applies);
 * - `ended`: nothing of it is left: no route, channel, timer or listener.
 */
type ExchangePhase =
  | { readonly name: 'new' }
  | { readonly name: 'queued' }
  | { readonly name: 'open'; readonly channel: Channel }
  | {
      readonly name: 'streaming';
      readonly channel: Channel;
      readonly stream: RemoteStream;
      /** Resolves the stream's `ended` promise. */
      readonly markEnded: () => void;
    }
  | { readonly name: 'ended' };

export const EXCHANGE_MOVES: Moves<ExchangePhase['name']> = {
  new: ['queued'],
  queued: ['open', 'ended'],
  open: ['streaming', 'ended'],
  streaming: ['ended'],
  ended: [],
};

const NEW: ExchangePhase = Object.freeze({ name: 'new' });
const QUEUED: ExchangePhase = Object.freeze({ name: 'queued' });
const ENDED: ExchangePhase = Object.freeze({ name: 'ended' });

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
export class Exchange implements Route, ChannelSink, Outgoing, ExchangeView {
  readonly id: Uint8Array;
  /** The encoded request, until the socket takes it. */
  payload: Uint8Array = NOTHING;
  private phase: ExchangePhase = NEW;
  /** The connection's key for this call's route, once queued. */
  private routeKey = 0;
  /** One timer per call, for the call timeout and the channel alike (see `tick`). */
  private timer: ChannelTimer | undefined;
  /** When the wait for the first reply times out. */
  private replyDue = 0;
  /** The server sent its final event (OK, ERR, STREAM_DONE): nothing left to cancel. */
  private answered = false;
  /** The ERR the server answered, for the call's report. */
  private remoteFailure: RemoteError | undefined;
  private resolveReply!: (value: unknown) => void;
  private rejectReply!: (error: unknown) => void;

  /** The connection's drops when the request went out (-1: not yet): its server is the next connection's. */
  drops = -1;

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
    this.to(QUEUED);
    const reply = new Promise((resolve, reject) => {
      this.resolveReply = resolve;
      this.rejectReply = reject;
    });
    this.replyDue = this.now() + this.spec.timeoutMs;
    // The exchange is its request's Outgoing: no message object, no closures.
    // The request goes first, the timer and the abort listeners after it (a
    // reply cannot come before this turn ends); unless the send already
    // ended the call (a socket that refused it at once).
    this.connection.send(this);
    if (this.closed) return reply;
    this.timer = this.host.timers.start(this);
    for (const signal of this.spec.signals) signal.addEventListener('abort', this);
    return reply;
  }

  get closed(): boolean {
    return this.phase.name === 'ended';
  }

  /** What is left of the call timeout (0 once a stream has begun: nothing to resend then). */
  get timeLeftMs(): number {
    const { name } = this.phase;
    if (name === 'streaming' || name === 'ended') return 0;
    return Math.max(0, this.replyDue - this.now());
  }

  // Outgoing: the request

  wanted(): boolean {
    return !this.closed;
  }

  sent(): void {
    const report = this.spec.report;
    if (report !== undefined) {
      report.sent = true;
      report.peer = this.connection.endpoint;
      report.bytesOut += this.payload.length;
    }
    this.payload = NOTHING;
    this.drops = this.connection.leaving.drops;
    this.openChannel();
  }

  failed(error: unknown): void {
    this.fail(error, true);
  }

  reroute(): boolean {
    if (this.phase.name !== 'queued' || !this.host.canMove(this)) return false;
    this.fail(new RequestNotSent(), true);
    return true;
  }

  // Route

  receive(event: ZEvent, bytes: number): void {
    if (this.spec.report !== undefined) this.spec.report.bytesIn += bytes;
    this.openChannel();
    this.channel?.receive(event, this.now());
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
    const payload = encodeEvent({ header, name, args });
    if (this.spec.report !== undefined) this.spec.report.bytesOut += payload.length;
    this.connection.send(new ControlEvent(payload, this));
  }

  deliver(event: ZEvent): void {
    const phase = this.phase;
    if (event.name !== STREAM) this.answered = true;
    if (phase.name === 'streaming') {
      if (event.name === ERR) this.remoteFailure = remoteErrorOf(event.args);
      phase.stream.push(event);
      if (phase.stream.buffered > this.spec.credit.window) {
        this.fail(new ProtocolError('the server streamed more events than it was granted'), true);
      }
      return;
    }
    if (phase.name !== 'open') return;
    if (this.spec.call !== undefined) this.spec.call.replyHeader = event.header;
    switch (event.name) {
      case OK:
        this.end();
        this.resolveReply(okValue(event.args));
        return;
      case ERR: {
        const error = remoteErrorOf(event.args);
        const retry = this.host.again(this, error);
        this.remoteFailure = error;
        this.end(undefined, retry !== undefined);
        if (retry === undefined) this.rejectReply(error);
        else this.resolveReply(retry);
        return;
      }
      case STREAM:
      case STREAM_DONE:
        this.resolveReply(this.beginStream(phase.channel, event));
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
    const phase = this.phase;
    if (phase.name === 'streaming') return phase.channel.deadline;
    if (phase.name === 'open') return Math.min(this.replyDue, phase.channel.deadline);
    // Until the request has left there is no channel: look again a heartbeat
    // from now (a channel opened meanwhile is due no earlier), or at the
    // connect deadline of a client that never reached a server.
    const lookAgain = this.now() + this.spec.heartbeatMs;
    const connectBy = this.spec.connect?.by ?? lookAgain;
    return Math.min(this.replyDue, lookAgain, connectBy);
  }

  tick(now: number): void {
    const phase = this.phase;
    const connect = this.spec.connect;
    if (phase.name === 'streaming') phase.channel.tick(now);
    else if (now >= this.replyDue) this.timedOut();
    else if (phase.name === 'open') phase.channel.tick(now);
    else if (connect !== undefined && now >= connect.by) {
      const { method, endpoints } = this.spec;
      this.fail(new NotConnectedError(connect.timeoutMs, method, endpoints), true);
    }
  }

  /** One of the call's signals aborted (the Exchange is their listener: no closure per call). */
  handleEvent(): void {
    const signal = this.spec.signals.find((s) => s.aborted);
    this.fail(signal?.reason, true);
  }

  private get channel(): Channel | undefined {
    const phase = this.phase;
    return phase.name === 'open' || phase.name === 'streaming' ? phase.channel : undefined;
  }

  private now(): number {
    return this.host.timers.clock.now();
  }

  /** Move to `next`, if an exchange may (see `EXCHANGE_MOVES`). */
  private to(next: ExchangePhase): void {
    this.phase = move('a client exchange', EXCHANGE_MOVES, this.phase, next);
  }

  private encodeRequest(): Uint8Array {
    // With our pace, for a zrpc server (reference servers ignore the key).
    const header = clientRequestHeader(this.id, this.spec.context, this.spec.heartbeatMs);
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
    if (this.phase.name !== 'queued') return;
    const channel = new Channel(this.id, this, {
      heartbeatMs: this.spec.heartbeatMs,
      assumedRemoteHeartbeatMs:
        this.connection.serverHeartbeatMs ?? this.spec.assumedPeerHeartbeatMs,
      now: this.now(),
      inputQueueSize: this.spec.credit.window,
      topUpBelow: this.spec.credit.topUpBelow,
    });
    this.to({ name: 'open', channel });
    // The first reply is the first event this side asks for.
    channel.pull();
  }

  /** The first reply is a stream's: its consumer reads on (the call timeout covered the wait for it only). */
  private beginStream(channel: Channel, first: ZEvent): RemoteStream {
    if (this.spec.report !== undefined) this.spec.report.stream = true;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    const stream = new RemoteStream(
      { pull: () => channel.pull(), close: () => this.end() },
      first,
      ended,
    );
    this.to({ name: 'streaming', channel, stream, markEnded });
    return stream;
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

  /** End abnormally; a stream's consumer sees `error` (after what it already received, unless `discard`). */
  private fail(error: unknown, discard: boolean): void {
    const phase = this.phase;
    if (phase.name === 'ended') return;
    if (phase.name === 'streaming') {
      this.end(error);
      phase.stream.fail(error, discard);
      return;
    }
    const retry = this.host.again(this, error);
    this.end(error, retry !== undefined);
    if (retry !== undefined) this.resolveReply(retry);
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
  private cancelOnServer(channel: Channel, error: unknown): void {
    if (this.answered) return;
    if (!channel.remoteIsZrpc && this.connection.serverHeartbeatMs === undefined) return;
    if (error instanceof LostRemoteError || this.connection.closed) return;
    const header = channelHeader(this.connection.nextId(), this.id);
    const payload = encodeEvent({ header, name: CANCEL, args: [] });
    if (this.spec.report !== undefined) this.spec.report.bytesOut += payload.length;
    this.connection.send({ payload, wanted: () => !this.connection.closed });
  }

  /** Release everything the call holds; `retried`: a new attempt carries the call on. */
  private end(error?: unknown, retried = false): void {
    const phase = this.phase;
    if (phase.name === 'ended') return;
    this.to(ENDED);
    if (phase.name === 'open' || phase.name === 'streaming') {
      this.cancelOnServer(phase.channel, error);
      phase.channel.close();
    }
    this.timer?.stop();
    this.connection.remove(this.routeKey);
    for (const signal of this.spec.signals) signal.removeEventListener('abort', this);
    if (phase.name === 'streaming') phase.markEnded();
    this.host.ended(this, error);
    if (error !== undefined && !retried) this.spec.call?.abandon(error);
    if (this.spec.report !== undefined && !retried) this.reportEnd(phase, error);
  }

  /** The call's report: what it ended with, or for a stream its consumer left, a cancel. */
  private reportEnd(phase: ExchangePhase, error: unknown): void {
    const failure = error ?? this.remoteFailure;
    if (failure === undefined && phase.name === 'streaming' && !this.answered) {
      this.spec.report!.end(new DOMException('the consumer left the stream', 'AbortError'));
    } else {
      this.spec.report!.end(failure);
    }
  }
}
