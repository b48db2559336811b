import { writeSync } from 'node:fs';

/** How long a write that found a non-blocking pipe full waits before trying again, in ms. */
const FULL_PIPE_WAIT_MS = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Where the runner's JSON lines go: a file descriptor (stderr), written once
 * per turn of the event loop rather than once per line. A server logs a line
 * per call; a write system call per line cost about a fifth of the server's
 * CPU time at 20k calls/s, one per turn of the loop costs next to nothing
 * and delays a line by that turn at most. The writes stay synchronous, as a
 * line-by-line writer's are: a log reader that falls behind slows the server
 * instead of making it buffer without bound, and the lines keep their order
 * with what the process writes itself. Whatever is buffered is written when
 * the process exits, however it exits (`process.exit`, a signal the runner
 * handles, an uncaught error): no line is lost but to SIGKILL.
 */
export class TurnBufferedDestination {
  private text = '';
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly fd: number) {}

  /** pino's destination interface: one JSON line. */
  write(line: string): boolean {
    this.text += line;
    if (this.scheduled === undefined) {
      this.scheduled = setImmediate(this.flush);
      unflushed.add(this);
    }
    return true;
  }

  /** Write what is buffered, now. */
  readonly flush = (): void => {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    unflushed.delete(this);
    if (this.text === '') return;
    const text = this.text;
    this.text = '';
    writeAll(this.fd, Buffer.from(text));
  };
}

/** The destinations holding lines not written yet, for the process's exit. */
const unflushed = new Set<TurnBufferedDestination>();
process.on('exit', () => {
  for (const destination of unflushed) destination.flush();
});

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
