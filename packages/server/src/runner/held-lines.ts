import type { HeldLinesOf } from '../log.js';

/** How long a held line waits at most (ms): the destination writes within 10 ms anyway. */
const HOLD_MS = 10;
/** At most this many lines are held; the next one releases them all. */
const MAX_HELD = 256;

/**
 * Lines the call log hands over to be formatted later (`HELD_LINES` in
 * log.ts), many at once: formatted one at a time, right after each call,
 * a line finds the server's code cold; held and formatted together, a
 * server with 64 calls in flight ran 5-6% faster (bench/ab.ts). Held lines
 * keep their place: the logger releases them before it writes any other
 * line (pino's `logMethod` hook, see runner/logger.ts), each with the time
 * it was held (`time`, read by pino's `timestamp`). They are released after
 * `HOLD_MS` at the latest, and at exit with the runner's destinations
 * (`releaseHeldLines`): no line is lost but to SIGKILL.
 */
export class HeldLines implements HeldLinesOf {
  private writes: Array<(arg: never) => void> = [];
  private args: unknown[] = [];
  private times: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private releasing = false;
  /** The time of the held line being written now; undefined for any other line. */
  time: number | undefined;

  /** `onError`: a line whose `write` threw (it is dropped; the others are written). */
  constructor(private readonly onError: (error: unknown) => void) {}

  hold<T>(write: (arg: T) => void, arg: T): void {
    this.writes.push(write as (arg: never) => void);
    this.args.push(arg);
    this.times.push(Date.now());
    if (this.writes.length >= MAX_HELD) this.release();
    else if (this.timer === undefined) {
      // It holds no process open: exit releases what is left.
      this.timer = setTimeout(this.release, HOLD_MS).unref();
      holding.add(this);
    }
  }

  /** Write every held line now, in order (nothing, while already doing so). */
  readonly release = (): void => {
    if (this.releasing || this.writes.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    holding.delete(this);
    const { writes, args, times } = this;
    this.writes = [];
    this.args = [];
    this.times = [];
    this.releasing = true;
    try {
      for (let i = 0; i < writes.length; i++) {
        this.time = times[i];
        try {
          writes[i]!(args[i] as never);
        } catch (error) {
          this.time = undefined;
          this.onError(error);
        }
      }
    } finally {
      this.time = undefined;
      this.releasing = false;
    }
  };
}

/** Release every held line (before the runner's destinations are flushed). */
export function releaseHeldLines(): void {
  for (const lines of holding) lines.release();
}

/** The instances holding lines now. */
const holding = new Set<HeldLines>();
