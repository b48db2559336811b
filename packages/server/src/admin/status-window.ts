import { performance } from 'node:perf_hooks';
import { CALL_STATUSES, type CallEnd, type CallObserver, type CallStatus } from '@zrpc/core';

/** How far back the status page looks, in seconds. */
export const WINDOW_SECONDS = 60;
/** Durations are kept per slot of this many seconds (12 slots make the minute). */
const LATENCY_SLOT_SECONDS = 5;
const LATENCY_SLOTS = WINDOW_SECONDS / LATENCY_SLOT_SECONDS;
/**
 * Durations go into log-spaced buckets from 10 µs up, each 1.2 times the
 * one before (90 buckets reach past 100 s): a percentile read from them is
 * within 10% of the true value, in a few kilobytes per method whatever the
 * call rate.
 */
const MIN_MS = 0.01;
const GROWTH = 1.2;
const BUCKETS = 90;
const LOG_GROWTH = Math.log(GROWTH);
const STATUS_INDEX = new Map<CallStatus, number>(CALL_STATUSES.map((status, i) => [status, i]));

/** One method over the last minute, as `/status.json` shows it. */
export interface MethodStatus {
  name: string;
  /** Calls that ended in the last minute, and those that did not end `ok`. */
  calls: number;
  errors: number;
  callsPerSecond: number;
  /** errors / calls (0 with no calls). */
  errorRate: number;
  /** Percentiles of the durations over the last minute, in ms (null with no calls). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Per second, oldest first: calls and errors over the last 60 s. */
  callsSeries: number[];
  errorsSeries: number[];
  /** Per 5 s, oldest first: the p99 in ms (null for a slot without calls). */
  p99Series: Array<number | null>;
}

/** Which second (or 5-second slot) each ring slot holds, so that stale slots read as empty. */
class Ring {
  readonly counts: Uint32Array;
  private readonly held: Float64Array;

  constructor(
    readonly slots: number,
    readonly width = 1,
  ) {
    this.counts = new Uint32Array(slots * width);
    this.held = new Float64Array(slots).fill(-1);
  }

  /** The offset of `time`'s slot in `counts`, emptied first if it held an older time. */
  slot(time: number): number {
    const i = time % this.slots;
    if (this.held[i] !== time) {
      this.held[i] = time;
      this.counts.fill(0, i * this.width, (i + 1) * this.width);
    }
    return i * this.width;
  }

  /** The offset of `time`'s slot, or -1 if the slot holds another time. */
  find(time: number): number {
    if (time < 0) return -1;
    const i = time % this.slots;
    return this.held[i] === time ? i * this.width : -1;
  }
}

class MethodWindow {
  readonly calls = new Ring(WINDOW_SECONDS, 2);
  readonly durations = new Ring(LATENCY_SLOTS, BUCKETS);

  record(second: number, durationMs: number, failed: boolean): void {
    const at = this.calls.slot(second);
    this.calls.counts[at]!++;
    if (failed) this.calls.counts[at + 1]!++;
    const bucket = bucketOf(durationMs);
    this.durations.counts[
      this.durations.slot(Math.floor(second / LATENCY_SLOT_SECONDS)) + bucket
    ]!++;
  }
}

/**
 * What the status page shows, kept by an observer: per method, the calls
 * and errors of each of the last 60 seconds and their durations per 5
 * seconds; per status, the calls of the last minute and since start.
 * Bounded: a few kilobytes per method label (give it bounded labels, see
 * `methodLabeler`), nothing per call.
 */
export class StatusWindow {
  readonly observer: CallObserver;
  private readonly methods = new Map<string, MethodWindow>();
  private readonly statuses = new Ring(WINDOW_SECONDS, CALL_STATUSES.length);
  private readonly totals = new Float64Array(CALL_STATUSES.length);
  private readonly startSecond: number;
  /**
   * The second calls are counted in, refreshed by a timer ten times a
   * second: reading the clock on every call would cost more than the rest
   * of recording it.
   */
  private second = 0;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    /** A method name as a bounded label. */
    private readonly label: (method: string) => string,
    /** Milliseconds on a monotonic clock. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tick();
    this.startSecond = this.second;
    this.observer = (end: CallEnd) => this.record(end);
    this.ticker = setInterval(() => this.tick(), 100);
    this.ticker.unref();
  }

  /** Read the clock now (the timer does it every 100 ms). */
  tick(): void {
    this.second = Math.floor(this.now() / 1000);
  }

  /** Stop the clock's timer. */
  close(): void {
    clearInterval(this.ticker);
  }

  /** Every method seen in the last minute, and those of `names` (registered, say) with none. */
  methodStatuses(names: Iterable<string> = []): MethodStatus[] {
    this.tick();
    const second = this.second;
    const span = Math.min(WINDOW_SECONDS, second - this.startSecond + 1);
    const all = new Set([...names, ...this.methods.keys()]);
    return [...all].sort().map((name) => view(name, this.methods.get(name), second, span));
  }

  /** Calls by status: since start, and in the last minute. */
  statusCounts(): { total: Record<CallStatus, number>; lastMinute: Record<CallStatus, number> } {
    this.tick();
    const second = this.second;
    const total = {} as Record<CallStatus, number>;
    const lastMinute = {} as Record<CallStatus, number>;
    CALL_STATUSES.forEach((status, s) => {
      total[status] = this.totals[s]!;
      lastMinute[status] = 0;
      for (let t = second - WINDOW_SECONDS + 1; t <= second; t++) {
        const at = this.statuses.find(t);
        if (at >= 0) lastMinute[status] += this.statuses.counts[at + s]!;
      }
    });
    return { total, lastMinute };
  }

  private record(end: CallEnd): void {
    const second = this.second;
    const s = STATUS_INDEX.get(end.status)!;
    this.totals[s]!++;
    this.statuses.counts[this.statuses.slot(second) + s]!++;
    const name = this.label(end.method);
    let method = this.methods.get(name);
    if (method === undefined) {
      method = new MethodWindow();
      this.methods.set(name, method);
    }
    method.record(second, end.durationMs, end.status !== 'ok');
  }
}

function view(
  name: string,
  method: MethodWindow | undefined,
  second: number,
  span: number,
): MethodStatus {
  const callsSeries: number[] = [];
  const errorsSeries: number[] = [];
  for (let t = second - WINDOW_SECONDS + 1; t <= second; t++) {
    const at = method?.calls.find(t) ?? -1;
    callsSeries.push(at < 0 ? 0 : method!.calls.counts[at]!);
    errorsSeries.push(at < 0 ? 0 : method!.calls.counts[at + 1]!);
  }
  const merged = new Uint32Array(BUCKETS);
  const p99Series: Array<number | null> = [];
  const slot = Math.floor(second / LATENCY_SLOT_SECONDS);
  for (let t = slot - LATENCY_SLOTS + 1; t <= slot; t++) {
    const at = method?.durations.find(t) ?? -1;
    if (at < 0) {
      p99Series.push(null);
      continue;
    }
    const buckets = method!.durations.counts.subarray(at, at + BUCKETS);
    for (let b = 0; b < BUCKETS; b++) merged[b]! += buckets[b]!;
    p99Series.push(percentile(buckets, 0.99));
  }
  const calls = sum(callsSeries);
  const errors = sum(errorsSeries);
  return {
    name,
    calls,
    errors,
    callsPerSecond: calls / span,
    errorRate: calls === 0 ? 0 : errors / calls,
    p50Ms: percentile(merged, 0.5),
    p99Ms: percentile(merged, 0.99),
    callsSeries,
    errorsSeries,
    p99Series,
  };
}

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

/** The `q` quantile of the counts in `buckets` (the bucket's geometric middle), in ms. */
function percentile(buckets: Uint32Array, q: number): number | null {
  let total = 0;
  for (const count of buckets) total += count;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    seen += buckets[b]!;
    if (seen >= rank) return round(MIN_MS * GROWTH ** (b + 0.5));
  }
  return null;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
