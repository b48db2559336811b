/*
 * The code each worker thread of a server's pool runs (piscina loads it by
 * path). A task names a method and the module that registered it: the
 * worker imports that module once, which re-runs its `register` calls in
 * this thread, finds the function registered under that name and calls it
 * with the call's arguments. Values cross as msgpack bytes, both ways, so
 * that what the handler sees and returns is exactly what it would on the
 * main thread (bigint, bytes, maps).
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  type EventHeader,
  type RpcFunction,
  type ServerCallContext,
  taskContextOf,
} from '@zrpc/core';
import {
  decodeValue,
  type ErrArgs,
  encodeValue,
  errArgs,
  headerRecord,
  runInCall,
  workerFunction,
} from '@zrpc/core/protocol';

/** One call, as the pool hands it to a worker. */
export interface WorkerTask {
  /** File URL of the module that registered the method. */
  module: string;
  method: string;
  stream: boolean;
  /** msgpack of `[args, header]`. */
  request: Uint8Array;
  peer: string;
  tracebacks: boolean;
  /** The call's line to the main thread while it runs (`ToWorker` in, `FromWorker` out). */
  port: MessagePort;
}

/**
 * What a worker answers once the call is over: the msgpack of `[result,
 * replyHeader]` (a stream's result is null), or the error as an ERR carries it.
 */
export type WorkerOutcome = { reply: Uint8Array } | { error: ErrArgs };

/** To the worker: the call is cancelled; a stream's next item is wanted; the stream must stop. */
export type ToWorker = { cancel: string } | 'next' | 'return';
/** From the worker: a stream's next item, as msgpack. */
export type FromWorker = { item: Uint8Array };

const modules = new Map<string, Promise<unknown>>();

export default async function runTask(task: WorkerTask): Promise<WorkerOutcome> {
  const controller = new AbortController();
  const requests = new StreamRequests();
  try {
    const fn = await load(task.module, task.method);
    // Cancelled while it waited for this thread: it never starts.
    const early = receiveMessageOnPort(task.port)?.message as ToWorker | undefined;
    if (typeof early === 'object') throw new CancelledError(early.cancel);
    task.port.on('message', (message: ToWorker) => {
      if (typeof message === 'object') controller.abort(new CancelledError(message.cancel));
      else requests.push(message);
    });
    if (early !== undefined) requests.push(early);
    const [args, header] = decodeValue(task.request) as [unknown[], unknown];
    const ctx = new WorkerCallContext(
      task,
      args,
      headerRecord(header) as EventHeader,
      controller.signal,
    );
    const result = await runInCall(ctx, () => fn(...args));
    if (task.stream) await sendItems(ctx, result, requests, task.port);
    return {
      reply: encoded(
        [task.stream ? null : (result ?? null), ctx.replyHeader],
        `the reply of ${task.method}()`,
      ),
    };
  } catch (error) {
    return { error: errArgs(error, task.tracebacks) };
  } finally {
    task.port.close();
  }
}

/**
 * Send a stream's items one by one, each only when the main thread asks for
 * it (it asks when the client has granted credit): a slow reader holds the
 * generator where it is. Ends after the last item, or closes the iterator
 * when asked to stop.
 */
async function sendItems(
  ctx: WorkerCallContext,
  source: unknown,
  requests: StreamRequests,
  port: MessagePort,
): Promise<void> {
  const iterator = openIterator(source, ctx.method);
  for (;;) {
    if ((await requests.next()) === 'return') {
      await runInCall(ctx, () => iterator.return?.());
      return;
    }
    const step = await runInCall(ctx, () => iterator.next());
    if (step.done) return;
    const item: FromWorker = { item: encoded(step.value, `an item of ${ctx.method}()`) };
    port.postMessage(item);
  }
}

/** msgpack of `value`; what cannot be encoded fails as it would on the main thread. */
function encoded(value: unknown, what: string): Uint8Array {
  try {
    return encodeValue(value);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new TypeError(`cannot encode ${what} as msgpack: ${message}`, { cause });
  }
}

/** The main thread's stream requests, in order, awaited one at a time. */
class StreamRequests {
  private readonly queued: Array<'next' | 'return'> = [];
  private wake: (() => void) | undefined;

  push(request: 'next' | 'return'): void {
    this.queued.push(request);
    this.wake?.();
  }

  async next(): Promise<'next' | 'return'> {
    while (this.queued.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.queued.shift()!;
  }
}

function openIterator(source: unknown, method: string): Iterator<unknown> | AsyncIterator<unknown> {
  if (typeof source === 'object' && source !== null) {
    const { [Symbol.asyncIterator]: openAsync, [Symbol.iterator]: openSync } = source as Partial<
      AsyncIterable<unknown> & Iterable<unknown>
    >;
    if (typeof openAsync === 'function') return openAsync.call(source);
    if (typeof openSync === 'function') return openSync.call(source);
  }
  throw new TypeError(
    `${method}() is a stream method: it must return an Iterable or AsyncIterable (a generator, say)`,
  );
}

/** The function `module` registers as `method`, importing the module on first use. */
async function load(module: string, method: string): Promise<RpcFunction> {
  let loading = modules.get(module);
  if (loading === undefined) {
    loading = importModule(module);
    modules.set(module, loading);
  }
  await loading;
  const fn = workerFunction(module, method);
  if (fn === undefined) {
    throw new Error(
      `${method}: ${module} did not register it with { worker } when imported in a worker thread`,
    );
  }
  return fn;
}

let typescriptEnabled = false;

/** Import a module by URL; TypeScript through tsx, whose loaders are registered only for it. */
async function importModule(module: string): Promise<unknown> {
  if (!typescriptEnabled && /\.[cm]?tsx?$/.test(new URL(module).pathname)) {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
    typescriptEnabled = true;
  }
  return import(module);
}

/** What a handler's `signal` aborts with when its call is cancelled. */
class CancelledError extends Error {
  override name = 'CancelledError';
}

/**
 * `currentCall()` inside a worker: the call's method, arguments, header,
 * task context and peer as they arrived, a signal that fires when the call is
 * cancelled, and a `replyHeader` sent back with the result. `state` starts
 * empty: what middleware put there stays on the main thread.
 */
class WorkerCallContext implements ServerCallContext {
  readonly side = 'server';
  readonly stream: boolean;
  readonly method: string;
  readonly peer: string;
  readonly replyHeader: Record<string, unknown> = {};
  readonly state = new Map<unknown, unknown>();
  readonly taskContext: Record<string, unknown>;
  tracebacks: boolean;
  result?: unknown;

  constructor(
    task: WorkerTask,
    readonly args: readonly unknown[],
    readonly header: Readonly<EventHeader>,
    readonly signal: AbortSignal,
  ) {
    this.method = task.method;
    this.stream = task.stream;
    this.peer = task.peer;
    this.tracebacks = task.tracebacks;
    this.taskContext = taskContextOf(header);
  }
}
