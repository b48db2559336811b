import { type CallEnd, type CallObserver, Observers } from '@zrpc/core';
import { monotonicNow } from '@zrpc/core/protocol';
import type { Logger } from '../options.js';
import { describe, EventLog } from './event-log.js';
import type { EventOutcome } from './event-runner.js';

/** What `stats` reports: counters since start, then the current load. */
export interface EventStats {
  /** Messages read from the socket. */
  received: number;
  /** Events whose handler ran and succeeded. */
  ok: number;
  /** Events whose handler or a middleware failed (logged with the traceback, answered to nobody). */
  failed: number;
  /** Events cancelled by `close()` after its grace period. */
  cancelled: number;
  /** Events naming no registered method. */
  unknownMethods: number;
  /** Events whose arguments did not fit their method (or that named a stream method). */
  badArguments: number;
  /** Messages that were no event (not msgpack, wrong shape). */
  badFrames: number;
  /** Events a `Subscriber` with topics dropped because their name is none of them. */
  filtered: number;
  /** Events running now. */
  running: number;
  /** Bytes of the events running now. */
  bytesHeld: number;
  /** The most `bytesHeld` has been since start. */
  peakBytesHeld: number;
}

export type EventCounters = Omit<EventStats, 'running' | 'bytesHeld'>;

/**
 * Where every event received ends up, once: counted, logged (a line per
 * event that ran; refused and unreadable ones summed up at most once a
 * minute), and told to the observers as a `CallEnd` with `oneWay: true`.
 */
export class EventEnds {
  readonly counters: EventCounters = {
    received: 0,
    ok: 0,
    failed: 0,
    cancelled: 0,
    unknownMethods: 0,
    badArguments: 0,
    badFrames: 0,
    filtered: 0,
    peakBytesHeld: 0,
  };
  private readonly log: EventLog;
  private readonly observers: Observers;

  constructor(logger: Logger, how: string, observers: readonly CallObserver[]) {
    this.log = new EventLog(logger, how);
    this.observers = new Observers(observers, (error) =>
      logger.error('zrpc events: an observer failed (reported once)', error),
    );
  }

  observe(observer: CallObserver): () => void {
    return this.observers.add(observer);
  }

  /** A message that is no event; observed when its method can still be read (`head`). */
  unreadable(error: unknown, head: string | undefined, bytes: number, startedAt: number): void {
    this.counters.badFrames++;
    this.log.ignored('badFrames', error instanceof Error ? error.message : String(error));
    if (head === undefined) return;
    this.notify({ method: head, status: 'protocol_error', error, ran: false }, bytes, startedAt);
  }

  /** An event ran, or was refused before running. */
  ended(outcome: EventOutcome, bytes: number, startedAt: number): void {
    const { method, status, error } = outcome;
    const durationMs = monotonicNow() - startedAt;
    switch (status) {
      case 'ok':
        this.counters.ok++;
        this.log.ran(method, status, durationMs, undefined);
        break;
      case 'unknown_method':
        this.counters.unknownMethods++;
        this.log.ignored('unknownMethods', describe(error));
        break;
      case 'bad_arguments':
        this.counters.badArguments++;
        this.log.ignored('badArguments', describe(error));
        break;
      case 'refused_closing': // cut short by close() past its grace
      case 'cancelled':
        this.counters.cancelled++;
        this.log.ran(method, status, durationMs, error);
        break;
      default:
        this.counters.failed++;
        this.log.ran(method, status, durationMs, error);
    }
    this.notify(outcome, bytes, startedAt, durationMs);
  }

  /** Write what bad input is still only counted. */
  flush(): void {
    this.log.flush();
  }

  private notify(
    { method, status, error, ran, ctx }: EventOutcome,
    bytesIn: number,
    startedAt: number,
    durationMs = monotonicNow() - startedAt,
  ): void {
    if (!this.observers.any) return;
    const end: CallEnd = {
      side: 'server',
      method,
      peer: '',
      status,
      durationMs,
      bytesIn,
      bytesOut: 0,
      ran,
      stream: false,
      oneWay: true,
      ...(status !== 'ok' && { error }),
      ...(ctx !== undefined && { ctx }),
    };
    this.observers.notify(end);
  }
}
