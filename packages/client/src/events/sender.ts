import { setTimeout as delay } from 'node:timers/promises';
import {
  type ClientCallContext,
  type ClientMiddleware,
  type ComposedMiddleware,
  compose,
  currentCall,
} from '@zrpc/core';
import {
  durationMs,
  encodeEvent,
  MessageIdGenerator,
  monotonicNow,
  requestHeader,
  SendQueue,
} from '@zrpc/core/protocol';
import type { Publisher as PubSocket, Push } from 'zeromq';
import { ClientCall } from '../call-context.js';
import { ClientClosedError } from '../errors.js';
import { endpointList } from '../options.js';
import { SendTimeoutError } from './errors.js';

/** Options a `Pusher` and a `Publisher` share. */
export interface EventSenderOptions {
  /** Where to connect (the receiving side binds); more with `connect`, or `bind` instead. */
  endpoints?: string | string[];
  /** Client middleware, outermost first: it sees a context whose `oneWay` is true. */
  middleware?: ClientMiddleware[];
  /**
   * How long an event may wait to be handed to ZeroMQ, in ms (default
   * 30 000): past it, its promise rejects with `SendTimeoutError` and the
   * event is not sent.
   */
  sendTimeoutMs?: number;
}

export interface SenderCloseOptions {
  /**
   * How long `close()` lets queued events go out (default 2000 ms): first
   * to ZeroMQ (those still waiting then fail with `ClientClosedError`),
   * then, with what is left of it as the socket's linger, from ZeroMQ to
   * the network.
   */
  graceMs?: number;
}

export const DEFAULT_SEND_TIMEOUT_MS = 30_000;
/**
 * `close()`'s grace, and the socket's linger until then: a program that
 * exits without closing waits for ZeroMQ that long at most (ZeroMQ's own
 * default, -1, would wait forever for a receiver that does not read).
 */
export const DEFAULT_CLOSE_GRACE_MS = 2000;
const NO_TASK_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/** One event on its way to the socket. */
interface Outgoing {
  readonly name: string;
  readonly frames: Buffer | Buffer[];
  readonly deadline: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** What client middleware sees of an event: a call's context, with nothing coming back. */
class EventCall extends ClientCall {
  readonly oneWay = true;
}

/**
 * What a `Pusher` and a `Publisher` share: one socket that only sends, every
 * send through one `SendQueue` (zeromq.js allows one pending send), each
 * event `[header, name, args]` with a zerorpc-python message id and the task
 * context (the current server call's, then what middleware adds), and the
 * promise of each settled once ZeroMQ has it, or after `sendTimeoutMs`.
 */
export abstract class EventSender {
  private readonly queue: SendQueue<Outgoing>;
  private readonly ids = new MessageIdGenerator();
  private readonly middleware: ComposedMiddleware<ClientCallContext> | undefined;
  private readonly sendTimeoutMs: number;
  private readonly endpointList: string[] = [];
  /** The socket's `sendTimeout` as last set (it is set per event: each has its own deadline). */
  private socketTimeout = -1;
  private closing: Promise<void> | undefined;
  /** Set once the grace is over: what is still queued fails instead of going out. */
  private abandoned = false;

  protected constructor(
    protected readonly socket: Push | PubSocket,
    options: EventSenderOptions,
    /** Why ZeroMQ may not take an event, for `SendTimeoutError`. */
    private readonly whyBlocked: string,
  ) {
    this.sendTimeoutMs = durationMs(
      'sendTimeoutMs',
      options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
    );
    const middleware = options.middleware ?? [];
    this.middleware = middleware.length > 0 ? compose(middleware) : undefined;
    this.queue = new SendQueue(
      (message) => this.write(message),
      (error, message) => message.reject(error),
    );
    try {
      for (const endpoint of endpointList(options.endpoints)) this.connect(endpoint);
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** Every endpoint bound (port `0`/`*` resolved) or connected. */
  get endpoints(): string[] {
    return [...this.endpointList];
  }

  /** Events waiting to be handed to ZeroMQ. */
  get queued(): number {
    return this.queue.size;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Connect to one more receiver (a puller or subscriber that binds). */
  connect(endpoint: string): void {
    this.prepare(endpoint);
    try {
      this.socket.connect(endpoint);
    } catch (error) {
      throw new TypeError(`invalid endpoint "${endpoint}": ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.endpointList.push(endpoint);
  }

  /** Listen on `endpoint` for receivers that connect (port `0` or `*` takes a free one). */
  async bind(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    await this.socket.bind(endpoint);
    this.endpointList.push(this.socket.lastEndpoint ?? endpoint);
  }

  /**
   * Stop taking events (new ones reject with `ClientClosedError`), hand the
   * queued ones to ZeroMQ within `graceMs`, then close the socket with the
   * rest of the grace as its linger: ZeroMQ goes on sending what it holds
   * for that long (and the process waits for it at exit, no longer).
   * Resolves once every event's promise has settled. Idempotent.
   */
  close(options: SenderCloseOptions = {}): Promise<void> {
    this.closing ??= this.shutDown(options.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
    return this.closing;
  }

  /** Send the event `name(...args)`: resolves once ZeroMQ has it. */
  protected emit(name: string, args: unknown[]): Promise<void> {
    try {
      if (this.closing) throw new ClientClosedError();
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(`an event needs a name (a non-empty string), got ${String(name)}`);
      }
      // Inside a server handler the event carries the handler's task context onward.
      const taskContext = currentCall()?.taskContext;
      if (this.middleware === undefined)
        return this.hand(name, args, taskContext ?? NO_TASK_CONTEXT);
      const ctx = new EventCall(name, args, { ...taskContext }, this.sendTimeoutMs, 0);
      return this.middleware(ctx, () => this.hand(name, args, ctx.taskContext));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The frames of one event: its payload, and for a Publisher with topics the topic first. */
  protected abstract framesOf(name: string, payload: Buffer): Buffer | Buffer[];

  private prepare(endpoint: string): void {
    if (this.closing) throw new ClientClosedError();
    // IPv6 addresses need the option; left off otherwise so that host names resolve to IPv4.
    if (endpoint.startsWith('tcp://[') && !this.socket.ipv6) this.socket.ipv6 = true;
  }

  /** Encode the event and queue it for the socket. */
  private hand(
    name: string,
    args: readonly unknown[],
    taskContext: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    if (this.closing) return Promise.reject(new ClientClosedError());
    const header = requestHeader(this.ids.next(), taskContext);
    let payload: Buffer;
    try {
      const bytes = encodeEvent({ header, name, args });
      payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      return Promise.reject(
        new TypeError(`cannot encode the event ${name} as msgpack: ${why}`, { cause }),
      );
    }
    const deadline = monotonicNow() + this.sendTimeoutMs;
    const frames = this.framesOf(name, payload);
    return new Promise((resolve, reject) => {
      this.queue.push({ name, frames, deadline, resolve, reject });
    });
  }

  /** Hand one event to the socket, waiting (in ZeroMQ) until its deadline at most. */
  private async write(message: Outgoing): Promise<void> {
    if (this.abandoned) throw new ClientClosedError();
    const left = Math.ceil(message.deadline - monotonicNow());
    if (left <= 0) throw this.timedOut(message);
    if (left !== this.socketTimeout) {
      this.socket.sendTimeout = left;
      this.socketTimeout = left;
    }
    try {
      await this.socket.send(message.frames);
    } catch (error) {
      if (this.socket.closed) throw new ClientClosedError();
      if ((error as { code?: string }).code === 'EAGAIN') throw this.timedOut(message);
      throw error;
    }
    message.resolve();
  }

  private timedOut(message: Outgoing): SendTimeoutError {
    return new SendTimeoutError(this.sendTimeoutMs, message.name, this.whyBlocked);
  }

  private async shutDown(graceMs: number): Promise<void> {
    const until = monotonicNow() + graceMs;
    const timer = new AbortController();
    await Promise.race([
      this.queue.idle(),
      delay(graceMs, undefined, { signal: timer.signal }).catch(() => {}),
    ]);
    timer.abort();
    this.abandoned = true;
    this.socket.linger = Math.max(0, Math.round(until - monotonicNow()));
    this.socket.close();
    await this.queue.idle();
  }
}
