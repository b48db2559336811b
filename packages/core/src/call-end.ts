import type { CallContext } from './middleware.js';
import type { CallStatus } from './status.js';

/**
 * One request's end, as a server (or a client, per call) reports it to its
 * observers: every request once, refusals included. Middleware wraps the
 * calls that run; observers see every request end.
 */
export interface CallEnd {
  readonly side: 'server' | 'client';
  /** The method named by the request (whatever a caller sent, on a server: bound it before using it as a label). */
  readonly method: string;
  /**
   * Who the other side was: on a server the caller's routing id (hex), on a
   * client the endpoint of the server that had the call (`''` when none did).
   */
  readonly peer: string;
  readonly status: CallStatus;
  /** From the request's arrival (server) or the call (client) to its end, in ms. */
  readonly durationMs: number;
  /** Bytes of the events received on the call (the request, on a server; the replies, on a client). */
  readonly bytesIn: number;
  /** Bytes of the events sent on the call. */
  readonly bytesOut: number;
  /** Whether user code ran: false for a refused call (its middleware never saw it). */
  readonly ran: boolean;
  /** Whether the method streams (as far as the side knows: an unknown method does not). */
  readonly stream: boolean;
  /** What the call ended with, for any status but `ok`. */
  readonly error?: unknown;
  /** The call's context as its middleware saw it (absent for a refused call on a server). */
  readonly ctx?: CallContext;
  /**
   * True for a one-way event (run by a server's Puller or Subscriber): no
   * reply, so `bytesOut` is 0 and `peer` is `''` (a PULL or SUB socket does
   * not say which sender an event came from). Absent for a call.
   */
  readonly oneWay?: boolean;
}

/**
 * Told each `CallEnd`, synchronously, on the path of the call's end: keep
 * it cheap (count, enqueue), never await. One that throws is reported once
 * and then kept: an observer never fails a call.
 */
export type CallObserver = (end: CallEnd) => void;

/**
 * The observers of one server or client. `notify` calls each in turn; an
 * observer that throws is reported through `onError` the first time (not
 * again: a broken observer must not flood a log) and stays registered.
 */
export class Observers {
  private list: CallObserver[];
  private readonly failed = new Set<CallObserver>();

  constructor(
    initial: readonly CallObserver[] = [],
    private readonly onError: (error: unknown, observer: CallObserver) => void = () => {},
  ) {
    for (const observer of initial) checkObserver(observer);
    this.list = [...initial];
  }

  /** Whether anyone listens (a caller may skip building a record for nobody). */
  get any(): boolean {
    return this.list.length > 0;
  }

  /** Add `observer`; the function returned removes it. */
  add(observer: CallObserver): () => void {
    checkObserver(observer);
    this.list = [...this.list, observer];
    return () => {
      this.list = this.list.filter((o) => o !== observer);
    };
  }

  notify(end: CallEnd): void {
    // The list is replaced, never changed, on add and remove: iterating it is safe.
    for (const observer of this.list) {
      try {
        observer(end);
      } catch (error) {
        if (this.failed.has(observer)) continue;
        this.failed.add(observer);
        try {
          this.onError(error, observer);
        } catch {
          // Reporting must not fail the call either.
        }
      }
    }
  }
}

function checkObserver(observer: unknown): void {
  if (typeof observer !== 'function') {
    throw new TypeError(
      `an observer must be a function (end: CallEnd) => void, got ${typeof observer}`,
    );
  }
}
