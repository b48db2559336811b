import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { MethodSpec, ServerCallContext } from '@zrpc/core';
import { decodeValue, type ErrArgs, encodeValue } from '@zrpc/core/protocol';
import type { Piscina } from 'piscina';
import type { Logger } from './options.js';
import { messageOf } from './values.js';
import type { FromWorker, ToWorker, WorkerOutcome, WorkerTask } from './worker-entry.js';

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
   * the error it threw as the ERR will carry it.
   */
  async run(spec: MethodSpec, ctx: ServerCallContext): Promise<unknown> {
    const { outcome } = await this.submit(spec, ctx);
    return resultOf(await outcome, ctx);
  }

  /**
   * Run a stream method on a worker: its items, each computed in the worker
   * only when asked for (the call asks when the client has credit).
   */
  stream(spec: MethodSpec, ctx: ServerCallContext): AsyncIterableIterator<unknown> {
    return new WorkerStream(this.submit(spec, ctx), ctx);
  }

  /** Stop every thread (a task still running is terminated). */
  async close(): Promise<void> {
    const pool = await this.starting?.catch(() => undefined);
    await pool?.destroy();
  }

  /**
   * Hand the call to the pool. When the call's signal fires the handler's
   * fires too; a task still queued never starts, and a running one still
   * going after `CANCEL_GRACE_MS` has its worker terminated (the pool
   * starts another).
   */
  private async submit(spec: MethodSpec, ctx: ServerCallContext): Promise<RunningTask> {
    const pool = await this.start();
    // A copy with a buffer of its own, moved to the worker: the encoder's output shares its buffer.
    const request = encodeValue([ctx.args, ctx.header]).slice();
    const { port1: port, port2 } = new MessageChannel();
    const terminate = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      const cancel: ToWorker = { cancel: messageOf(ctx.signal.reason) };
      port.postMessage(cancel);
      grace = setTimeout(() => terminate.abort(ctx.signal.reason), CANCEL_GRACE_MS);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const task: WorkerTask = {
      module: spec.worker!,
      method: spec.name,
      stream: spec.stream,
      request,
      peer: ctx.peer,
      tracebacks: ctx.tracebacks,
      port: port2,
    };
    const outcome = pool.run(task, {
      transferList: [port2, request.buffer],
      signal: terminate.signal,
    });
    const cleanUp = (): void => {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(grace);
      port.close();
    };
    outcome.then(cleanUp, cleanUp);
    return { port, outcome };
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

/** A call handed to a worker: its line to the worker, and how it ends. */
interface RunningTask {
  port: MessagePort;
  outcome: Promise<WorkerOutcome>;
}

/** The call's result from what the worker answered, its reply header keys added to the call's. */
function resultOf(outcome: WorkerOutcome, ctx: ServerCallContext): unknown {
  if ('error' in outcome) throw errorOf(outcome.error);
  const [result, replyHeader] = decodeValue(outcome.reply) as [unknown, object];
  Object.assign(ctx.replyHeader, replyHeader);
  return result;
}

/**
 * A worker's stream as the call's stream pump sees it: `next()` asks the
 * worker for one item and resolves with it; the end or the error of the
 * task ends it; `return()` asks the worker to close its iterator.
 */
class WorkerStream implements AsyncIterableIterator<unknown> {
  private waiting:
    | { resolve(step: IteratorResult<unknown>): void; reject(error: unknown): void }
    | undefined;
  private ended: { error: unknown } | undefined;

  constructor(
    private readonly task: Promise<RunningTask>,
    ctx: ServerCallContext,
  ) {
    task.then(
      ({ port, outcome }) => {
        port.on('message', (message: FromWorker) => {
          this.settle({ value: decodeValue(message.item), done: false });
        });
        outcome.then(
          (answer) => {
            try {
              resultOf(answer, ctx);
              this.end(undefined);
            } catch (error) {
              this.end(error);
            }
          },
          (error) => this.end(error),
        );
      },
      (error) => this.end(error),
    );
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<unknown>> {
    const { port } = await this.task;
    if (this.ended !== undefined) return this.final();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      const next: ToWorker = 'next';
      port.postMessage(next);
    });
  }

  async return(): Promise<IteratorResult<unknown>> {
    const { port, outcome } = await this.task;
    if (this.ended === undefined) {
      const stop: ToWorker = 'return';
      port.postMessage(stop);
    }
    await outcome.catch(() => {});
    return { value: undefined, done: true };
  }

  private final(): IteratorResult<unknown> {
    if (this.ended?.error !== undefined) throw this.ended.error;
    return { value: undefined, done: true };
  }

  private settle(step: IteratorResult<unknown>): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(step);
  }

  /** The task is over: a pending `next()` gets the end, or the error. */
  private end(error: unknown): void {
    this.ended = { error };
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting === undefined) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }
}

/** The handler's error, rebuilt on this side of the thread boundary under the name it had. */
function errorOf([name, message, traceback]: ErrArgs): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = traceback || `${name}: ${message}`;
  return error;
}
