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
  monotonicNow,
  PROTOCOL_HEADER_KEYS,
  PROTOCOL_VERSION,
  runInCall,
  type SendQueue,
  type ServerCallContext,
  taskContextOf,
  type ZEvent,
} from '@zrpc/core';
import { raceAbort } from './abort.js';
import { errArgs, NameError, ServerBusyError } from './errors.js';
import type { Limiter } from './limiter.js';
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
  /** The call is over: forget its channel. */
  closed(call: ServerCall): void;
}

type Reply = [name: 'OK' | 'STREAM_DONE' | 'ERR', args: unknown];

/**
 * One request, from its arrival to its final event: method lookup, arity,
 * a slot from the limiter, the middleware chain around the handler, the
 * reply or the stream pumped under `_zpc_more` credit, and the channel
 * (heartbeats, lost client) for as long as the call lives.
 */
export class ServerCall implements ChannelSink {
  readonly channel: Channel;
  private readonly timer: ChannelTimer;
  private readonly controller = new AbortController();
  private readonly method: ResolvedMethod | undefined;
  private readonly ctx: ServerCallContext;
  /** The user code (handler, generator) still running; a slot is held until it settles. */
  private userCode: Promise<unknown> = Promise.resolve();
  private wakeWriter: (() => void) | undefined;
  private over = false;

  constructor(
    private readonly host: CallHost,
    readonly peer: string,
    readonly key: string,
    private readonly identity: readonly Buffer[],
    private readonly request: ZEvent,
  ) {
    this.method = host.resolve(request.name);
    this.ctx = {
      side: 'server',
      method: request.name,
      args: Array.isArray(request.args) ? request.args : [],
      taskContext: taskContextOf(request.header),
      signal: this.controller.signal,
      state: new Map(),
      header: request.header,
      replyHeader: {},
      peer,
      stream: this.method?.spec.stream ?? false,
      tracebacks: host.tracebacks,
    };
    this.channel = new Channel(request.header.message_id, this, {
      heartbeatMs: host.heartbeatMs,
      now: monotonicNow(),
    });
    this.timer = new ChannelTimer(this.channel);
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Answer the request. Never rejects. */
  async run(): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.execute();
    } catch (error) {
      reply = ['ERR', error];
    }
    await this.sendFinal(reply);
  }

  /** Cancel the call: its signal fires, and the middleware chain and a stream stop. */
  abort(reason: Error): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  /** Close the channel and forget the call; nothing more is sent. */
  close(): void {
    if (this.over) return;
    this.over = true;
    this.channel.close();
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

  private async execute(): Promise<Reply> {
    const { name, args } = this.request;
    const method = this.method;
    if (method === undefined) throw new NameError(name);
    if (!Array.isArray(args)) {
      throw new TypeError(`${name}() takes its arguments as an array, not ${typeof args}`);
    }
    const arity = arityError(method.spec, args.length);
    if (arity !== undefined) throw new TypeError(arity);
    if (method.builtin) return ['OK', [method.spec.fn(...args) ?? null]];

    const release = await this.host.limiter.acquire(this.signal).catch((error) => {
      if (error instanceof ServerBusyError) this.host.counters.rejectedBusy++;
      throw error;
    });
    const { spec } = method;
    const inner = () => (spec.stream ? this.pump(spec, args) : this.invoke(spec, args));
    try {
      await runInCall(this.ctx, () => this.host.middleware(this.ctx, inner));
    } finally {
      void this.userCode.then(release, release);
    }
    return spec.stream ? ['STREAM_DONE', null] : ['OK', [this.ctx.result ?? null]];
  }

  private async invoke(spec: MethodSpec, args: unknown[]): Promise<void> {
    const pending = new Promise<unknown>((resolve) => resolve(spec.fn(...args)));
    this.userCode = pending;
    this.ctx.result = await raceAbort(pending, this.signal);
  }

  /**
   * Send the items of a stream method one by one, pulling the next item only
   * when the client has granted room for it and the send queue has room: a
   * slow reader slows the producer, nothing is drained into memory.
   */
  private async pump(spec: MethodSpec, args: unknown[]): Promise<void> {
    const produced = new Promise<unknown>((resolve) => resolve(spec.fn(...args)));
    this.userCode = produced;
    const iterator = openIterator(await raceAbort(produced, this.signal), spec.name);
    let finished = false;
    try {
      for (;;) {
        await this.whenWritable();
        const step = await raceAbort(Promise.resolve(iterator.next()), this.signal);
        if (step.done) {
          finished = true;
          return;
        }
        this.signal.throwIfAborted();
        this.sendItem(step.value);
      }
    } finally {
      if (!finished) {
        // An aborted generator may be stuck in an await: let it finish on its
        // own (its signal has fired) instead of waiting for it here.
        const closing = Promise.resolve().then(() => iterator.return?.());
        this.userCode = closing;
        if (this.signal.aborted) closing.catch(() => {});
        else await closing;
      }
    }
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

  /** Resolves once the client can take one more event and the send queue has room. */
  private async whenWritable(): Promise<void> {
    const queue = this.host.sendQueue;
    for (;;) {
      this.signal.throwIfAborted();
      if (!this.channel.canSend) {
        await raceAbort(new Promise<void>((wake) => (this.wakeWriter = wake)), this.signal);
      } else if (queue.size >= queue.highWater) {
        await raceAbort(queue.room(), this.signal);
      } else {
        return;
      }
    }
  }

  /**
   * Send OK, STREAM_DONE or ERR, then close. The final event needs credit like
   * any other; a client lost (or a call cancelled) meanwhile gets nothing.
   */
  private async sendFinal([name, args]: Reply): Promise<void> {
    const lost = this.signal.aborted && this.signal.reason instanceof LostRemoteError;
    if (!lost && !this.channel.canSend && !this.signal.aborted) {
      await raceAbort(new Promise<void>((wake) => (this.wakeWriter = wake)), this.signal).catch(
        () => {},
      );
    }
    if (!lost && this.channel.canSend) {
      if (name !== 'ERR') {
        try {
          this.channel.send(name, args);
          return this.close();
        } catch (error) {
          args = new TypeError(
            `cannot encode the reply of ${this.request.name}() as msgpack: ${messageOf(error)}`,
            { cause: error },
          );
        }
      }
      this.channel.send('ERR', errArgs(args, this.ctx.tracebacks));
      this.host.counters.errors++;
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
