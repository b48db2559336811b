import { performance } from 'node:perf_hooks';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import {
  type CallObserver,
  type ComposedMiddleware,
  compose,
  type ServerCallContext,
} from '@zrpc/core';
import { decodeEvent, monotonicNow, readableHead, type ZEvent } from '@zrpc/core/protocol';
import type { Pull, Subscriber as SubscriberSocket } from 'zeromq';
import { ServerClosingError } from '../errors.js';
import { WorkerPool } from '../worker-pool.js';
import type { EventContext } from './event-context.js';
import { EventEnds, type EventStats } from './event-ends.js';
import { type EventHost, runEvent } from './event-runner.js';
import {
  type EventServerOptions,
  type ResolvedEventOptions,
  resolveEventOptions,
} from './options.js';

/** The longest the receive loop works before it lets timers run. */
const RECEIVE_TURN_MS = 5;
/** After the grace period, how long cancelled events get to end. */
const CANCEL_SETTLE_MS = 1000;
/**
 * Largest event accepted (ZeroMQ's own check: a sender of a larger message
 * is disconnected before its bytes are buffered), as on a `Server`.
 */
export const DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024;
/**
 * Events ZeroMQ holds per connected sender before that sender waits (a
 * pusher) or misses events (a publisher drops them). ZeroMQ counts
 * messages, not bytes: under a flood of 64 KiB events from 4 pushers its
 * default of 1000 held 250 MB; at 100, 25 MB, with no loss of throughput
 * (the puller reads one event at a time either way; `bench/events.ts` of
 * @zrpc/client).
 */
export const DEFAULT_RECEIVE_HWM = 100;

/** The socket options a receiver starts from (`socket` overrides them). */
export const RECEIVER_SOCKET_DEFAULTS = {
  maxMessageSize: DEFAULT_MAX_EVENT_SIZE,
  receiveHighWaterMark: DEFAULT_RECEIVE_HWM,
  linger: 0,
} as const;

export interface EventCloseOptions {
  /** How long the events running may take to finish before their signal fires (default 5000). */
  graceMs?: number;
}

type EventSocket = Pull | SubscriberSocket;

/**
 * What a `Puller` and a `Subscriber` share: one socket that only receives,
 * a receive loop that reads an event only while fewer than `concurrency`
 * run and their bytes are under `byteBudget` (so that what waits, waits in
 * ZeroMQ, which fair-queues between senders), and for each event the
 * registry, the middleware chain and the handler (`runEvent`), its end
 * logged, counted and told to the observers. Nothing is ever sent back.
 */
export abstract class EventReceiver implements EventHost {
  readonly registry: ResolvedEventOptions['registry'];
  readonly middleware: ComposedMiddleware<ServerCallContext> | undefined;
  readonly workers: WorkerPool;
  protected readonly options: ResolvedEventOptions;
  private readonly ends: EventEnds;
  private readonly running = new Set<EventContext>();
  private bytesHeld = 0;
  private readonly endpointList: string[] = [];
  private receiving: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private wakeReader: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];

  protected constructor(
    protected readonly socket: EventSocket,
    /** `pushed` or `published`, for the log. */
    how: string,
    options: EventServerOptions,
  ) {
    this.options = resolveEventOptions(options);
    const { logger } = this.options;
    this.registry = this.options.registry;
    this.middleware =
      this.options.middleware.length > 0 ? compose(this.options.middleware) : undefined;
    this.workers = new WorkerPool(this.options.workers, logger);
    this.ends = new EventEnds(logger, how, this.options.observers);
  }

  /** Every endpoint bound (port `0`/`*` resolved) or connected. */
  get endpoints(): string[] {
    return [...this.endpointList];
  }

  get stats(): EventStats {
    return {
      ...this.ends.counters,
      running: this.running.size,
      bytesHeld: this.bytesHeld,
    };
  }

  /** Tell `observer` of every event's end from now on; the function returned stops it. */
  observe(observer: CallObserver): () => void {
    return this.ends.observe(observer);
  }

  /** Listen on `endpoint` (`tcp://host:port`, port `0` or `*` for a free one, `ipc://`, `inproc://`). */
  async bind(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    // Synchronous, as the Server's: while zeromq.js binds on its worker
    // thread, a receive pending on the socket fails with EBUSY.
    this.socket.bindSync(endpoint);
    this.endpointList.push(unmapped(this.socket.lastEndpoint ?? endpoint));
    this.startReceiving();
  }

  /** Connect to `endpoint`: a sender that binds (a Publisher usually does). */
  async connect(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    this.socket.connect(endpoint);
    this.endpointList.push(endpoint);
    this.startReceiving();
  }

  /**
   * Stop reading at once (what ZeroMQ received but did not hand over yet is
   * dropped: delivery is at most once), give the events running `graceMs`
   * to finish, then fire their signal with `ServerClosingError` and wait a
   * moment more. Idempotent.
   */
  close(options: EventCloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? 5000);
    return this.closing;
  }

  /** Whether an event that arrived with `frames` is wanted (a Subscriber's topics). */
  protected accepts(_event: ZEvent, _frames: Buffer[]): boolean {
    return true;
  }

  private prepare(endpoint: string): void {
    if (this.closing) throw new Error('the receiver is closed');
    // ZeroMQ takes IPv6 addresses only with this option.
    if (endpoint.startsWith('tcp://[') && !this.socket.ipv6) this.socket.ipv6 = true;
  }

  private startReceiving(): void {
    this.receiving ??= this.receiveLoop();
  }

  private hasRoom(): boolean {
    return this.running.size < this.options.concurrency && this.bytesHeld < this.options.byteBudget;
  }

  private async receiveLoop(): Promise<void> {
    let turnStarted = performance.now();
    for (;;) {
      if (!this.hasRoom()) {
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
        turnStarted = performance.now();
      }
      if (this.closing || this.socket.closed) return;
      // While events keep coming each receive settles as a microtask: let
      // timers (handlers' own, and other servers' heartbeats) run now and then.
      if (performance.now() - turnStarted > RECEIVE_TURN_MS) {
        await nextTurn();
        turnStarted = performance.now();
      }
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (error) {
        if (this.socket.closed) return;
        this.options.logger.error('zrpc events: receive failed', error);
        continue;
      }
      try {
        this.handle(frames);
      } catch (error) {
        // A bug of ours, not the sender's: keep receiving.
        this.options.logger.error('zrpc events: failed to handle an event', error);
      }
    }
  }

  private handle(frames: Buffer[]): void {
    const { counters } = this.ends;
    counters.received++;
    const startedAt = monotonicNow();
    // The event is the last frame, as for zerorpc-python: any frame before
    // it (a publisher's topic) is not part of it.
    const payload = frames[frames.length - 1]!;
    let event: ZEvent;
    try {
      event = decodeEvent(payload);
    } catch (error) {
      this.ends.unreadable(error, readableHead(payload)?.name, payload.length, startedAt);
      return;
    }
    if (!this.accepts(event, frames)) {
      counters.filtered++;
      return;
    }
    const bytes = payload.length;
    const outcome = runEvent(this, event, (ctx) => {
      this.running.add(ctx);
      this.bytesHeld += bytes;
      counters.peakBytesHeld = Math.max(counters.peakBytesHeld, this.bytesHeld);
    });
    if (!(outcome instanceof Promise)) {
      this.ends.ended(outcome, bytes, startedAt);
      return;
    }
    void outcome.then((done) => {
      this.running.delete(done.ctx!);
      this.bytesHeld -= bytes;
      this.ends.ended(done, bytes, startedAt);
      if (this.wakeReader !== undefined && (this.hasRoom() || this.closing)) {
        const wake = this.wakeReader;
        this.wakeReader = undefined;
        wake();
      }
      if (this.running.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Resolves when no event runs, or after `ms`. */
  private async allEnded(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    const timeout = new AbortController();
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.race([idle, delay(ms, undefined, { signal: timeout.signal }).catch(() => {})]);
    timeout.abort();
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.socket.close();
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
    await this.receiving;
    await this.allEnded(graceMs);
    if (this.running.size > 0) {
      const reason = new ServerClosingError(
        `the receiver shut down before the event finished (grace ${graceMs} ms)`,
      );
      for (const ctx of this.running) ctx.abort(reason);
      await this.allEnded(CANCEL_SETTLE_MS);
    }
    await this.workers.close();
    this.ends.flush();
  }
}

/** An IPv4 endpoint ZeroMQ reports as IPv4-mapped IPv6 (ipv6 option on), given back as plain IPv4. */
function unmapped(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/\[::ffff:(\d+\.\d+\.\d+\.\d+)\]/, 'tcp://$1');
}
