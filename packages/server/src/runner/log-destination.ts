import { writeSync } from 'node:fs';
import { releaseHeldLines } from './held-lines.js';

/** How long a write that found a non-blocking pipe full waits before trying again, in ms. */
const FULL_PIPE_WAIT_MS = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Lines are written when this much is buffered, ... */
const FLUSH_BYTES = 16 * 1024;
/** ...or this long after the first of them, at the latest (ms). */
const FLUSH_MS = 10;

/**
 * Where the runner's JSON lines go: a file descriptor (stderr), written in
 * batches rather than once per line: when 16 KiB are buffered, or 10 ms
 * after the first line of a batch. A server logs a line per call; a write
 * system call per line cost about a fifth of the server's CPU time at 20k
 * calls/s (and a seventh of a single caller's round trip), one per batch
 * next to nothing. The writes stay synchronous, as a line-by-line writer's
 * are: a log reader that falls behind slows the server instead of making
 * it buffer without bound. Whatever is buffered is written before the
 * runner's own lines (`flushRunnerLogs`) and when the process exits,
 * however it exits (`process.exit`, a signal the runner handles, an
 * uncaught error): no line is lost but to SIGKILL.
 */
export class BatchedDestination {
  private text = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly fd: number) {}

  /** pino's destination interface: one JSON line. */
  write(line: string): boolean {
    this.text += line;
    if (this.text.length >= FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      // It holds no process open: exit writes what is left.
      this.timer = setTimeout(this.flush, FLUSH_MS).unref();
      unflushed.add(this);
    }
    return true;
  }

  /** Write what is buffered, now. */
  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    unflushed.delete(this);
    if (this.text === '') return;
    const text = this.text;
    this.text = '';
    writeAll(this.fd, Buffer.from(text));
  };
}

/** Write every line the runner's loggers hold, before the runner writes lines of its own. */
export function flushRunnerLogs(): void {
  releaseHeldLines();
  for (const destination of unflushed) destination.flush();
}

/** The destinations holding lines not written yet, for the process's exit. */
const unflushed = new Set<BatchedDestination>();
process.on('exit', flushRunnerLogs);

/** Write all of `bytes`, waiting out a full non-blocking pipe; a closed one drops the rest. */
function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') return; // EPIPE, EBADF: nobody reads the log any more
      Atomics.wait(pause, 0, 0, FULL_PIPE_WAIT_MS);
    }
  }
}
