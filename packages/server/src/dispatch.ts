import {
  arityError,
  Channel,
  type ChannelSink,
  ChannelTimer,
  type ComposedMiddleware,
  type EventHeader,
  HEARTBEAT,
  LostRemoteError,
  type MessageId,
  type MethodSpec,
  MORE,
  messageIdKey,
  monotonicNow,
  PROTOCOL_HEADER_KEYS,
  PROTOCOL_VERSION,
  runInCall,
  type SendQueue,
  type ServerCallContext,
  type ZEvent,
} from '@zrpc/core';
import { CallContext } from './call-context.js';
import { errArgs, NameError, ServerBusyError } from './errors.js';
import type { Limiter } from './limiter.js';
import type { PeerKey } from './multiplexer.js';
import type { ServerCounters } from './stats.js';

/** A method as dispatch finds it. Built-ins skip the limiter and the middleware. */
export interface ResolvedMethod {
  spec: MethodSpec;
  builtin: boolean;
}

/** What a call needs from the server that runs it. */
export interface CallHost {
  readonly heartbeatMs: number;
  readonly tracebacks: boolean;
  readonly middleware: ComposedMiddleware<ServerCallContext>;
  readonly limiter: Limiter;
  readonly counters: ServerCounters;
  readonly sendQueue: Pick<SendQueue<unknown>, 'size' | 'highWater' | 'room'>;
  resolve(method: string): ResolvedMethod | undefined;
  nextMessageId(): MessageId;
  /** Encode one event and queue it for the peer; throws when it cannot be encoded. */
  send(identity: readonly Buffer[], header: EventHeader, name: string, args: unknown): void;
  /** The network sent something that makes no sense here. */
  badInput(kind: 'badEvents', detail: string): void;
  /** A call that outlived its first turn (and so was routed) is over: forget its channel. */
  closed(call: ServerCall): void;
}

type Reply = [name: 'OK' | 'STREAM_DONE' | 'ERR', args: unknown];

/** Settled, shared: what a call's inner step returns when there is nothing to wait for. */
const DONE = Promise.resolve();

/**
 * One request, from its arrival to its final event: method lookup, arity,
 * a slot from the limiter, the middleware chain around the handler, the
 * reply or the stream pumped under `_zpc_more` credit, and the channel
 * (heartbeats, lost client) for as long as the call lives.
 *
 * Thousands of these can be open at once, so a call allocates little: a
 * synchronous handler or generator costs no promise of ours, and waits are
 * interrupted through one hook instead of a listener per await.
 */
export class ServerCall implements ChannelSink {
  readonly channel: Channel;
  /** Made once the call outlives the turn it arrived in (see `run`). */
  private timer: ChannelTimer | undefined;
  private readonly method: ResolvedMethod | undefined;
  private readonly ctx: CallContext;
  /** Rejects the wait in progress, if any, when the call is aborted. */
  private interrupt: ((reason: unknown) => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  /** Whether the call holds a limiter slot: given back once the chain is done and no user code runs. */
  private holdsSlot = false;
  private chainDone = false;
  /** Promises of user code (handler, generator) not settled yet. */
  private userPending = 0;
  private over = false;

  private idKey: string | undefined;

  constructor(
    private readonly host: CallHost,
    /** The caller, as `PeerChannels` keys it. */
    readonly peer: PeerKey,
    private readonly identity: readonly Buffer[],
    private readonly request: ZEvent,
  ) {
    this.method = host.resolve(request.name);
    const stream = this.method?.spec.stream ?? false;
    this.ctx = new CallContext(request, identity, stream, host.tracebacks);
    this.channel = new Channel(request.header.message_id, this, {
      heartbeatMs: host.heartbeatMs,
      now: monotonicNow(),
    });
  }

  private get aborted(): boolean {
    return this.ctx.abortReason !== undefined;
  }

  private throwIfAborted(): void {
    if (this.ctx.abortReason !== undefined) throw this.ctx.abortReason;
  }

  /**
   * Answer the request. A method that returns a plain value with no
   * middleware around it is answered before `run` returns (most calls): no
   * promise, no timer, no routing entry. Any other call goes on
   * asynchronously; `finished` tells which. Never throws.
   */
  run(): void {
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.answer();
    } catch (error) {
      reply = ['ERR', error];
    }
    if (!(reply instanceof Promise)) {
      this.sendFinal(reply);
      return;
    }
    // From here on the call lives past this turn: it heartbeats and watches the client.
    this.timer = new ChannelTimer(this.channel);
    reply.then(
      (value) => this.finish(value),
      (error) => this.finish(['ERR', error]),
    );
  }

  /** Whether the call is over (answered, lost or closed). */
  get finished(): boolean {
    return this.over;
  }

  /** The call's channel id as `PeerChannels` keys it: made only for a call that needs routing. */
  get key(): string {
    this.idKey ??= messageIdKey(this.request.header.message_id)!;
    return this.idKey;
  }

  /** The reply, or a promise of it when a slot, the middleware or the method must be waited for. */
  private answer(): Reply | Promise<Reply> {
    const spec = this.checkedMethod();
    if (this.method!.builtin) return ['OK', [spec.fn(...this.ctx.args) ?? null]];
    const slot = this.takeSlot();
    if (slot === true) return this.runChain(spec);
    return slot.then(() => this.runChain(spec));
  }

  /** Run the middleware chain around the method, in the slot just taken. */
  private runChain(spec: MethodSpec): Reply | Promise<Reply> {
    this.holdsSlot = true;
    let chain: Promise<void>;
    try {
      this.throwIfAborted(); // lost while its slot was being handed over
      chain = runInCall(this.ctx, () => this.host.middleware(this.ctx, this.inner));
    } catch (error) {
      this.chainEnded();
      throw error;
    }
    // `inner` answers DONE for a plain value; no middleware passes it through.
    if (chain === DONE) return this.chainEnded(spec);
    // Promise.resolve: a middleware may hand back any thenable, not only a native promise.
    return Promise.resolve(chain).then(
      () => this.chainEnded(spec),
      (error) => {
        this.chainEnded();
        throw error;
      },
    );
  }

  /** The chain is over: the slot can go back (once no user code runs); answers the reply. */
  private chainEnded(spec?: MethodSpec): Reply {
    this.chainDone = true;
    this.giveSlotBack();
    return spec?.stream ? ['STREAM_DONE', null] : ['OK', [this.ctx.result ?? null]];
  }

  /** Send the final reply once the client can take it. */
  private async finish(reply: Reply): Promise<void> {
    // The final event needs credit like any other.
    if (!this.channel.canSend && !this.aborted) await this.credit().catch(() => {});
    this.sendFinal(reply);
  }

  /** Cancel the call: its signal fires, and the middleware chain and a stream stop. */
  abort(reason: Error): void {
    if (this.aborted) return;
    this.ctx.abort(reason);
    const interrupt = this.interrupt;
    this.interrupt = undefined;
    interrupt?.(reason);
  }

  /** Close the channel and forget the call; nothing more is sent. */
  close(): void {
    if (this.over) return;
    this.over = true;
    this.channel.close();
    // Only a call that outlived its first turn has a timer and a routing entry.
    if (this.timer === undefined) return;
    this.timer.stop();
    this.host.closed(this);
  }

  // --- ChannelSink: what the channel asks of us ---

  emit(name: string, args: unknown): void {
    try {
      this.host.send(this.identity, this.header(this.ctx.replyHeader), name, args);
    } catch (error) {
      // Control events and ERR always encode; if one failed, a middleware put
      // something unencodable in replyHeader. Send it without those keys.
      if (name !== HEARTBEAT && name !== MORE && name !== 'ERR') throw error;
      this.host.send(this.identity, this.header({}), name, args);
    }
  }

  deliver(event: ZEvent): void {
    this.host.badInput('badEvents', `a ${JSON.stringify(event.name)} event on an open channel`);
  }

  lost(error: LostRemoteError): void {
    this.host.counters.lostRemotes++;
    this.abort(error);
    this.close();
  }

  writable(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }

  // --- the call ---

  /** The method to run, once the request names one and passes it the right number of arguments. */
  private checkedMethod(): MethodSpec {
    const { name, args } = this.request;
    if (this.method === undefined) throw new NameError(name);
    if (!Array.isArray(args)) {
      throw new TypeError(`${name}() takes its arguments as an array, not ${typeof args}`);
    }
    const arity = arityError(this.method.spec, args.length);
    if (arity !== undefined) throw new TypeError(arity);
    return this.method.spec;
  }

  private takeSlot(): true | Promise<void> {
    try {
      return this.host.limiter.acquire(this.ctx);
    } catch (error) {
      if (error instanceof ServerBusyError) this.host.counters.rejectedBusy++;
      throw error;
    }
  }

  private giveSlotBack(): void {
    if (!this.holdsSlot || !this.chainDone || this.userPending > 0) return;
    this.holdsSlot = false;
    this.host.limiter.release();
  }

  /** The innermost step of the middleware chain. */
  private readonly inner = (): Promise<void> => {
    const spec = this.method!.spec;
    const produced = spec.fn(...this.ctx.args);
    if (spec.stream) return this.pump(produced);
    if (!isPromiseLike(produced)) {
      this.ctx.result = produced;
      return DONE;
    }
    // The value is kept as ctx.result; the chain itself resolves to nothing.
    return this.userCode(produced as PromiseLike<void>, true);
  };

  /**
   * Send the items of a stream method one by one, pulling the next item only
   * when the client has granted room for it and the send queue has room: a
   * slow reader slows the producer, nothing is drained into memory.
   */
  private async pump(produced: unknown): Promise<void> {
    const source = isPromiseLike(produced) ? await this.userCode(produced) : produced;
    const iterator = openIterator(source, this.request.name);
    let finished = false;
    try {
      for (;;) {
        if (!this.canWrite()) await this.whenWritable();
        const next = iterator.next();
        const step = isPromiseLike(next) ? await this.userCode(next) : next;
        if (step.done) {
          finished = true;
          return;
        }
        this.throwIfAborted();
        this.sendItem(step.value);
      }
    } finally {
      if (!finished) await this.closeIterator(iterator);
    }
  }

  /**
   * Stop a generator early (its `finally` runs). One aborted in the middle of
   * an await finishes on its own, its signal having fired: it is not waited
   * for here, only counted as running user code.
   */
  private closeIterator(iterator: AnyIterator): Promise<unknown> | undefined {
    const closing = Promise.resolve().then(() => iterator.return?.());
    if (!this.aborted) return closing;
    this.userCode(closing).catch(() => {});
    return undefined;
  }

  private sendItem(item: unknown): void {
    try {
      this.channel.send('STREAM', item);
    } catch (error) {
      throw new TypeError(
        `cannot encode an item of ${this.request.name}() as msgpack: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  private canWrite(): boolean {
    const queue = this.host.sendQueue;
    return this.channel.canSend && queue.size < queue.highWater;
  }

  /** Resolves once the client can take one more event and the send queue has room. */
  private async whenWritable(): Promise<void> {
    for (;;) {
      this.throwIfAborted();
      if (!this.channel.canSend) await this.credit();
      else if (!this.canWrite()) {
        await this.interruptible((resolve, reject) => {
          this.host.sendQueue.room().then(resolve, reject);
        });
      } else return;
    }
  }

  /**
   * Wait for a promise of user code (a handler's, a generator's), its value
   * becoming the call's result if `isResult`; reject at once if the call is
   * aborted meanwhile. The slot stays taken until it settles, even after an abort.
   */
  private userCode<T>(promise: PromiseLike<T>, isResult = false): Promise<T> {
    this.userPending++;
    return this.interruptible<T>((resolve, reject) => {
      promise.then(
        (value) => {
          this.userSettled();
          if (isResult) this.ctx.result = value;
          resolve(value);
        },
        (error) => {
          this.userSettled();
          reject(error);
        },
      );
    });
  }

  private userSettled(): void {
    this.userPending--;
    this.giveSlotBack();
  }

  /** Like `new Promise(executor)`, but rejected at once with the abort reason when the call is aborted. */
  private interruptible<T>(
    executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Still run the executor when already aborted: user code it waits
      // for must be seen to settle.
      if (this.aborted) reject(this.ctx.abortReason);
      else this.interrupt = reject;
      executor(resolve, reject);
    });
  }

  /** Resolves when the client grants credit, or rejects when the call is aborted. */
  private credit(): Promise<void> {
    return this.interruptible((wake) => {
      this.wakeWriter = wake;
    });
  }

  /** Send OK, STREAM_DONE or ERR if the client is still there and has credit, then close. */
  private sendFinal([name, args]: Reply): void {
    if (!(this.ctx.abortReason instanceof LostRemoteError) && this.channel.canSend) {
      let failed = name === 'ERR';
      let error = args;
      if (!failed) {
        try {
          this.channel.send(name, args);
        } catch (cause) {
          failed = true;
          error = new TypeError(
            `cannot encode the reply of ${this.request.name}() as msgpack: ${messageOf(cause)}`,
            { cause },
          );
        }
      }
      if (failed) {
        this.channel.send('ERR', errArgs(error, this.ctx.tracebacks));
        this.host.counters.errors++;
      }
    }
    this.close();
  }

  private header(extra: Record<string, unknown>): EventHeader {
    const header: EventHeader = {
      message_id: this.host.nextMessageId(),
      v: PROTOCOL_VERSION,
      response_to: this.request.header.message_id,
    };
    for (const key of Object.keys(extra)) {
      if (!PROTOCOL_HEADER_KEYS.has(key)) header[key] = extra[key];
    }
    return header;
  }
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

function openIterator(source: unknown, method: string): AnyIterator {
  if (typeof source === 'object' && source !== null) {
    const { [Symbol.asyncIterator]: openAsync, [Symbol.iterator]: openSync } = source as Partial<
      AsyncIterable<unknown> & Iterable<unknown>
    >;
    if (typeof openAsync === 'function') return openAsync.call(source);
    if (typeof openSync === 'function') return openSync.call(source);
  }
  const got = source === null ? 'null' : typeof source;
  throw new TypeError(
    `${method}() is a stream method: it must return an Iterable or AsyncIterable (a generator, say), not ${got}`,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
