/*
 * Over 300 lines on purpose: one call's state machine (its phase, slot,
 * channel and abort) reads best in one place. Its parts that need none of
 * that state live apart: call-host.ts (what it needs of the server),
 * handler.ts (running the handler), stream-pump.ts, call-slot.ts,
 * abortable-waits.ts.
 */
import type { CallStatus, MethodSpec } from '@zrpc/core';
import { ArgumentsError, arityError, LostRemoteError, statusOf } from '@zrpc/core';
import {
  advertisedHeartbeat,
  Channel,
  type ChannelSink,
  type ChannelTimer,
  ERR,
  type EventHeader,
  errArgs,
  HEARTBEAT,
  MORE,
  type Moves,
  messageIdKey,
  move,
  OK,
  runInCall,
  STREAM_DONE,
  serverEventHeader,
  type ZEvent,
} from '@zrpc/core/protocol';
import { AbortableWaits } from './abortable-waits.js';
import type { CallHost, ResolvedMethod } from './call-host.js';
import { CallSlot } from './call-slot.js';
import { CancelledByClientError, NameError, SendBudgetError } from './errors.js';
import { runHandler } from './handler.js';
import type { PeerKey } from './multiplexer.js';
import { ServerContext } from './server-context.js';
import { pumpStream, type StreamOutlet } from './stream-pump.js';
import { isPromiseLike, messageOf } from './values.js';

/**
 * Where a call is in its life:
 * - `first-turn`: being answered in the turn its request arrived in (most
 *   calls end here: no timer, no routing entry);
 * - `routed`: it outlived that turn, so its channel has a timer (heartbeats,
 *   a lost client) and the dispatcher routes its events to it;
 * - `closed`: answered, lost or cancelled; nothing more is sent.
 */
type CallPhase =
  | { readonly name: 'first-turn' }
  | { readonly name: 'routed'; readonly timer: ChannelTimer }
  | { readonly name: 'closed' };

export const CALL_MOVES: Moves<CallPhase['name']> = {
  'first-turn': ['routed', 'closed'],
  routed: ['closed'],
  closed: [],
};

const FIRST_TURN: CallPhase = { name: 'first-turn' };
const CLOSED: CallPhase = { name: 'closed' };

type Reply = [name: typeof OK | typeof STREAM_DONE | typeof ERR, args: unknown];

/**
 * What the innermost step answers for a plain value: already settled, and
 * the same object every time, so that a chain without middleware (which
 * hands it back unchanged) is recognised as finished without a microtask.
 */
const SETTLED = Promise.resolve();

// What a call runs inside its async context: functions of the call, not
// closures made per call. A handler that throws fails the call like a
// middleware that rejects.
const runInner = (call: ServerCall): Promise<void> => call.inner();
const runMiddleware = (call: ServerCall): Promise<void> => call.middlewareChain();

/**
 * One request, from its arrival to its final event: method lookup, arity,
 * a slot (`CallSlot`), the middleware chain around the handler, the reply
 * or the stream (`pumpStream`) under `_zpc_more` credit, and the channel
 * (heartbeats, lost client) for as long as the call lives.
 *
 * Thousands of these can be open at once, so a call allocates little: a
 * synchronous handler costs no promise of ours, and waits are cut short
 * through one hook (`AbortableWaits`) instead of a listener per await.
 */
export class ServerCall implements ChannelSink, StreamOutlet {
  private phase: CallPhase = FIRST_TURN;
  private readonly resolved: ResolvedMethod | undefined;
  private readonly ctx: ServerContext;
  private readonly slot: CallSlot;
  /** Made when first needed: a call answered in its first turn needs neither. */
  private openChannel: Channel | undefined;
  private abortableWaits: AbortableWaits | undefined;
  private wakeWriter: (() => void) | undefined;
  private idKey: string | undefined;
  private readonly startedAt: number;
  /** The caller is a zrpc client (its request advertised its heartbeat): see docs/EXTENSIONS.md. */
  private readonly zrpcPeer: boolean;
  /** Whether user code (the middleware chain, or a built-in) began: a call that never ran was refused. */
  private ran = false;
  private bytesOut = 0;

  constructor(
    private readonly host: CallHost,
    /** The caller, as `PeerChannels` keys it. */
    readonly peer: PeerKey,
    private readonly identity: readonly Buffer[],
    private readonly request: ZEvent,
    /** The request's size, for the call's `CallEnd`. */
    private readonly bytesIn = 0,
  ) {
    this.startedAt = host.timers.clock.now();
    this.zrpcPeer = advertisedHeartbeat(request.header) !== undefined;
    this.resolved = host.resolve(request.name);
    const stream = this.resolved?.spec.stream ?? false;
    this.ctx = new ServerContext(request, identity, stream, host.tracebacks);
    this.slot = new CallSlot(host.limiter, peer);
  }

  /**
   * The call's channel (credit, heartbeats, a lost client), made on first
   * use, as of the request's arrival: a call answered in its first turn
   * sends its one event on the credit the request itself grants (PROTOCOL.md
   * §6) and never needs one.
   */
  get channel(): Channel {
    this.openChannel ??= new Channel(this.request.header.message_id, this, {
      heartbeatMs: this.host.heartbeatMs,
      now: this.startedAt,
      remoteHeartbeatMs: advertisedHeartbeat(this.request.header),
      assumedRemoteHeartbeatMs: this.host.assumedPeerHeartbeatMs,
    });
    return this.openChannel;
  }

  /** The call's waits, cut short by an abort (made on first use). */
  private get waits(): AbortableWaits {
    this.abortableWaits ??= new AbortableWaits(this.ctx);
    return this.abortableWaits;
  }

  get method(): string {
    return this.request.name;
  }

  get aborted(): boolean {
    return this.ctx.abortReason !== undefined;
  }

  throwIfAborted(): void {
    if (this.ctx.abortReason !== undefined) throw this.ctx.abortReason;
  }

  /** Where the call stands with the concurrency limit (see `CallSlot`). */
  get slotState(): CallSlot['state'] {
    return this.slot.state;
  }

  /**
   * Answer the request. A method that returns a plain value with no
   * middleware around it is answered before `run` returns (most calls): no
   * promise, no timer, no routing entry. Any other call goes on
   * asynchronously; `finished` tells which. Never throws.
   */
  run(): void {
    let reply: Reply | Promise<void>;
    try {
      reply = this.answer();
    } catch (error) {
      reply = [ERR, error];
    }
    if (!(reply instanceof Promise)) {
      this.sendFinal(reply);
      return;
    }
    // From here on the call lives past this turn: it heartbeats and watches
    // the client. (The promise sends the final reply itself, in a later microtask.)
    this.to({ name: 'routed', timer: this.host.timers.start(this.channel) });
  }

  /** Whether the call is over (answered, lost or closed). */
  get finished(): boolean {
    return this.phase.name === 'closed';
  }

  /** The call's channel id as `PeerChannels` keys it: made only for a call that needs routing. */
  get key(): string {
    this.idKey ??= messageIdKey(this.request.header.message_id)!;
    return this.idKey;
  }

  /** Cancel the call: its signal fires, and the middleware chain and a stream stop. */
  abort(reason: Error): void {
    if (this.aborted) return;
    this.ctx.abort(reason);
    this.abortableWaits?.abort(reason);
  }

  /** Close the channel and forget the call; nothing more is sent. */
  close(): void {
    const was = this.phase;
    if (was.name === 'closed') return;
    this.to(CLOSED);
    this.openChannel?.close();
    // Only a call that outlived its first turn has a timer and a routing entry.
    if (was.name !== 'routed') return;
    was.timer.stop();
    this.host.closed(this);
  }

  /** Move to `next`, if a call may (see `CALL_MOVES`). */
  private to(next: CallPhase): void {
    this.phase = move('a server call', CALL_MOVES, this.phase, next);
  }

  // --- ChannelSink: what the channel asks of us ---

  emit(name: string, args: unknown): void {
    const extra = this.ctx.replyHeaderIfAny;
    try {
      this.bytesOut += this.host.send(this.identity, this.header(extra), name, args, this.zrpcPeer);
    } catch (error) {
      // Control events and ERR always encode; if one failed, a middleware put
      // something unencodable in replyHeader. Send it without those keys.
      if (extra === undefined || (name !== HEARTBEAT && name !== MORE && name !== ERR)) throw error;
      this.bytesOut += this.host.send(this.identity, this.header(), name, args, this.zrpcPeer);
    }
  }

  deliver(event: ZEvent): void {
    this.host.badInput('badEvents', `a ${JSON.stringify(event.name)} event on an open channel`);
  }

  lost(error: LostRemoteError): void {
    this.abort(error);
    this.close();
    this.report(error);
  }

  /**
   * A zrpc client no longer wants the call (its consumer left a stream, it
   * aborted or timed out): stop it and answer nothing. The slot goes back
   * as soon as the user code running in it settles.
   */
  cancelled(): void {
    const reason = new CancelledByClientError('the client cancelled the call');
    this.abort(reason);
    this.close();
    this.report(reason);
  }

  writable(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }

  // --- StreamOutlet: what the stream pump asks of us ---

  canWrite(): boolean {
    const queue = this.host.sendQueue;
    return this.channel.canSend && queue.size < queue.highWater;
  }

  async whenWritable(): Promise<void> {
    for (;;) {
      this.throwIfAborted();
      if (!this.channel.canSend) await this.credit();
      else if (!this.canWrite()) {
        await this.waits.wait((resolve, reject) => {
          this.host.sendQueue.room().then(resolve, reject);
        });
      } else return;
    }
  }

  userCode<T>(promise: PromiseLike<T>): Promise<T> {
    return this.awaitUser(promise, false);
  }

  send(name: string, args: unknown): void {
    this.channel.send(name, args);
  }

  // --- the call ---

  /**
   * The reply; or, when a slot, the middleware or the method must be waited
   * for, a promise that settles once the reply has been sent (`finish`).
   */
  private answer(): Reply | Promise<void> {
    const spec = this.checkedMethod();
    if (this.resolved!.builtin) {
      this.ran = true;
      return [OK, [spec.fn(...this.ctx.args) ?? null]];
    }
    const slot = this.slot.take(this.ctx);
    if (slot === true) return this.runChain(spec);
    return slot.then(
      () => this.runChainLater(spec),
      (error) => this.finish([ERR, error]),
    );
  }

  /** `runChain` once a slot was waited for: this call is routed by now, so any reply goes through `finish`. */
  private runChainLater(spec: MethodSpec): void | Promise<void> {
    let reply: Reply | Promise<void>;
    try {
      reply = this.runChain(spec);
    } catch (error) {
      reply = [ERR, error];
    }
    return reply instanceof Promise ? reply : this.finish(reply);
  }

  /** The method to run, once the request names one and passes it the right number of arguments. */
  private checkedMethod(): MethodSpec {
    const { name, args } = this.request;
    if (this.resolved === undefined) throw new NameError(name);
    if (!Array.isArray(args)) {
      throw new ArgumentsError(`${name}() takes its arguments as an array, not ${typeof args}`);
    }
    const arity = arityError(this.resolved.spec, args.length);
    if (arity !== undefined) throw new ArgumentsError(arity);
    return this.resolved.spec;
  }

  /**
   * Run the middleware chain around the method, in the slot just taken: the
   * reply if the chain ended at once, else a promise that sends it (one
   * reaction for the chain's end and the reply, not one each).
   */
  private runChain(spec: MethodSpec): Reply | Promise<void> {
    let chain: Promise<void>;
    try {
      this.throwIfAborted(); // lost while its slot was being handed over
      this.ran = true;
      chain = runInCall(
        this.ctx,
        this.host.middleware === undefined ? runInner : runMiddleware,
        this,
      );
    } catch (error) {
      this.slot.chainEnded();
      throw error;
    }
    // `inner` answers SETTLED for a plain value; a chain without middleware passes it through.
    if (chain === SETTLED) return this.chainEnded(spec);
    return chain.then(
      () => this.finish(this.chainEnded(spec)),
      (error) => {
        this.slot.chainEnded();
        return this.finish([ERR, error]);
      },
    );
  }

  /** The chain is over: the slot can go back (once no user code runs); answers the reply. */
  private chainEnded(spec: MethodSpec): Reply {
    this.slot.chainEnded();
    return spec.stream ? [STREAM_DONE, null] : [OK, [this.ctx.result ?? null]];
  }

  /** The middleware chain around `inner` (see `runMiddleware`). */
  middlewareChain(): Promise<void> {
    this.innerStep ??= () => this.inner();
    return this.host.middleware!(this.ctx, this.innerStep);
  }

  /** `inner` as the `next` of the last middleware (made only for a chain that has middleware). */
  private innerStep: (() => Promise<void>) | undefined;

  /** The innermost step of the middleware chain: the handler. */
  inner(): Promise<void> {
    const spec = this.resolved!.spec;
    const produced = runHandler(this.host, spec, this.ctx);
    if (spec.stream) {
      // The stream itself is what a middleware sees as the result.
      this.ctx.result = produced;
      return pumpStream(this, produced);
    }
    if (!isPromiseLike(produced)) {
      this.ctx.result = produced;
      return SETTLED;
    }
    // The value is kept as ctx.result; the chain itself resolves to nothing.
    return this.awaitUser(produced as PromiseLike<void>, true);
  }

  /**
   * Wait for a promise of user code (a handler's, a generator's), its value
   * becoming the call's result if `isResult`; reject at once if the call is
   * aborted meanwhile. The slot stays taken until it settles, even after an abort.
   */
  private awaitUser<T>(promise: PromiseLike<T>, isResult: boolean): Promise<T> {
    this.slot.userStarted();
    return this.waits.wait<T>((resolve, reject) => {
      promise.then(
        (value) => {
          this.slot.userSettled();
          if (isResult) this.ctx.result = value;
          resolve(value);
        },
        (error) => {
          this.slot.userSettled();
          reject(error);
        },
      );
    });
  }

  /** Resolves when the client grants credit, or rejects when the call is aborted. */
  private credit(): Promise<void> {
    return this.waits.wait((wake) => {
      this.wakeWriter = wake;
    });
  }

  /** Send the final reply now, or once the client can take it (a promise only then). */
  private finish(reply: Reply): void | Promise<void> {
    // The final event needs credit like any other.
    if (this.channel.canSend || this.aborted) return this.sendFinal(reply);
    return this.credit().then(
      () => this.sendFinal(reply),
      () => this.sendFinal(reply),
    );
  }

  /** Send OK, STREAM_DONE or ERR if the client is still there and has credit, then close. */
  private sendFinal([name, args]: Reply): void {
    if (this.phase.name === 'closed') return;
    let error: unknown = name === ERR ? args : undefined;
    // No channel yet: the call is in its first turn, and the request's own
    // credit (one event) is there for its reply.
    const channel = this.openChannel;
    const canSend = channel === undefined || channel.canSend;
    if (!(this.ctx.abortReason instanceof LostRemoteError) && canSend) {
      if (error === undefined) {
        try {
          this.sendOnCredit(channel, name, args);
        } catch (cause) {
          error =
            cause instanceof SendBudgetError
              ? cause
              : new TypeError(
                  `cannot encode the reply of ${this.request.name}() as msgpack: ${messageOf(cause)}`,
                  { cause },
                );
        }
      }
      if (error !== undefined) {
        this.sendOnCredit(channel, ERR, errArgs(error, this.ctx.tracebacks));
        if (!this.ctx.tracebacks && error instanceof Error) this.host.withheld?.(this.ctx, error);
      }
    }
    this.close();
    this.report(error);
  }

  /** Send one event on the call's credit: the channel's, or the request's before there is one. */
  private sendOnCredit(channel: Channel | undefined, name: string, args: unknown): void {
    if (channel === undefined) this.emit(name, args);
    else channel.send(name, args);
  }

  /** Tell the host how the call ended. */
  private report(error: unknown): void {
    if (this.host.ended === undefined) return;
    this.host.ended({
      side: 'server',
      method: this.request.name,
      peer: this.ctx.peer,
      status: this.status(error),
      durationMs: this.host.timers.clock.now() - this.startedAt,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      ran: this.ran,
      stream: this.resolved?.spec.stream ?? false,
      error: error ?? this.ctx.abortReason,
      ctx: this.ctx,
    });
  }

  /**
   * The call's status: a refusal (unknown method, bad arguments, busy) by
   * its error; once user code ran, a lost caller or a cancel by what
   * cancelled it, and any other error is the handler's, whatever its name
   * (a handler passing on a `LostRemoteError` of its own call failed; its
   * caller was not lost).
   */
  private status(error: unknown): CallStatus {
    const reason = this.ctx.abortReason;
    if (reason instanceof LostRemoteError || (reason !== undefined && error !== undefined)) {
      return statusOf(reason);
    }
    if (error === undefined) return 'ok';
    if (!this.ran || this.resolved?.builtin) return statusOf(error);
    return error instanceof SendBudgetError ? 'protocol_error' : 'error';
  }

  private header(extra?: Readonly<Record<string, unknown>>): EventHeader {
    // Our heartbeat tells a zrpc client our pace, and that we understand _zpc_cancel.
    return serverEventHeader(
      this.host.nextMessageId(this.zrpcPeer),
      this.request.header.message_id,
      this.host.heartbeatMs,
      extra,
    );
  }
}
