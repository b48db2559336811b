import { MessageChannel } from 'node:worker_threads';
import type { MethodSpec, ServerCallContext } from '@zrpc/core';
import { decodeValue, type ErrArgs, encodeValue } from '@zrpc/core/protocol';
import type { Piscina } from 'piscina';
import type { Logger } from './options.js';
import { messageOf } from './values.js';
import type { WorkerOutcome, WorkerTask } from './worker-entry.js';

/**
 * How long a cancelled call's handler has to return on its own (it sees its
 * `signal` fire) before its worker is terminated. A handler that computes
 * without awaiting cannot see the signal: its worker is terminated then.
 */
export const CANCEL_GRACE_MS = 500;

/**
 * The worker code. The compiled package runs `dist/worker-entry.js` next to
 * this module; run from its TypeScript sources (the package's own tests), it
 * uses the built one, as a worker thread starts without a TypeScript loader.
 */
const ENTRY = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/worker-entry.js' : './worker-entry.js',
  import.meta.url,
).href;

/** What `server.stats.workers` reports. */
export interface WorkerStats {
  /** Threads alive now (0 until the first worker call). */
  threads: number;
  /** Calls waiting for a free thread. */
  queued: number;
  /** Calls the threads completed (including failed ones). */
  completed: number;
}

/**
 * The server's pool of worker threads (piscina) for the methods registered
 * with `{ worker }`. It starts on the first such call, so a server without
 * them starts no thread.
 */
export class WorkerPool {
  private pool: Piscina<WorkerTask, WorkerOutcome> | undefined;
  private starting: Promise<Piscina<WorkerTask, WorkerOutcome>> | undefined;

  constructor(
    /** Threads in the pool. */
    readonly size: number,
    private readonly logger: Logger,
  ) {}

  get stats(): WorkerStats {
    const pool = this.pool;
    if (pool === undefined) return { threads: 0, queued: 0, completed: 0 };
    return { threads: pool.threads.length, queued: pool.queueSize, completed: pool.completed };
  }

  /**
   * Run the call's method on a worker: the result the handler returned, or
   * the error it threw as the ERR will carry it. When the call's signal fires
   * the handler's fires too; a task still queued never starts, and a running
   * one still going after `CANCEL_GRACE_MS` has its worker terminated (the
   * pool starts another).
   */
  async run(spec: MethodSpec, ctx: ServerCallContext): Promise<unknown> {
    const pool = await this.start();
    // A copy with a buffer of its own, moved to the worker: the encoder's output shares its buffer.
    const request = encodeValue([ctx.args, ctx.header]).slice();
    const cancel = new MessageChannel();
    const terminate = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      cancel.port1.postMessage(messageOf(ctx.signal.reason));
      grace = setTimeout(() => terminate.abort(ctx.signal.reason), CANCEL_GRACE_MS);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const task: WorkerTask = {
      module: spec.worker!,
      method: spec.name,
      request,
      peer: ctx.peer,
      tracebacks: ctx.tracebacks,
      cancel: cancel.port2,
    };
    try {
      const outcome = await pool.run(task, {
        transferList: [cancel.port2, request.buffer],
        signal: terminate.signal,
      });
      if ('error' in outcome) throw errorOf(outcome.error);
      const [result, replyHeader] = decodeValue(outcome.reply) as [unknown, object];
      Object.assign(ctx.replyHeader, replyHeader);
      return result;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(grace);
      cancel.port1.close();
    }
  }

  /** Stop every thread (a task still running is terminated). */
  async close(): Promise<void> {
    const pool = await this.starting?.catch(() => undefined);
    await pool?.destroy();
  }

  private start(): Promise<Piscina<WorkerTask, WorkerOutcome>> {
    this.starting ??= import('piscina').then(({ Piscina }) => {
      const pool = new Piscina<WorkerTask, WorkerOutcome>({
        filename: ENTRY,
        minThreads: this.size,
        maxThreads: this.size,
        // Idle workers wait on their event loop, not blocked in Atomics.wait:
        // what a handler left running (timers, sockets) keeps running.
        atomics: 'disabled',
      });
      // A worker that dies outside a task (it is replaced): say so, never crash the server.
      pool.on('error', (error: unknown) => this.logger.error('zrpc server: worker failed', error));
      this.pool = pool;
      return pool;
    });
    return this.starting;
  }
}

/** The handler's error, rebuilt on this side of the thread boundary under the name it had. */
function errorOf([name, message, traceback]: ErrArgs): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = traceback || `${name}: ${message}`;
  return error;
}
