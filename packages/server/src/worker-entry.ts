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
  runInCall,
  workerFunction,
} from '@zrpc/core/protocol';

/** One call, as the pool hands it to a worker. */
export interface WorkerTask {
  /** File URL of the module that registered the method. */
  module: string;
  method: string;
  /** msgpack of `[args, header]`. */
  request: Uint8Array;
  peer: string;
  tracebacks: boolean;
  /** Receives one message when the call is cancelled: the handler's signal fires. */
  cancel: MessagePort;
}

/** What a worker answers: the msgpack of `[result, replyHeader]`, or the error as an ERR carries it. */
export type WorkerOutcome = { reply: Uint8Array } | { error: ErrArgs };

const modules = new Map<string, Promise<unknown>>();

export default async function runTask(task: WorkerTask): Promise<WorkerOutcome> {
  const controller = new AbortController();
  try {
    const fn = await load(task.module, task.method);
    // Cancelled while it waited for this thread: it never starts.
    const early = receiveMessageOnPort(task.cancel);
    if (early !== undefined) throw new CancelledError(String(early.message));
    task.cancel.once('message', (reason) => controller.abort(new CancelledError(String(reason))));
    const [args, header] = decodeValue(task.request) as [unknown[], EventHeader];
    const ctx = new WorkerCallContext(task, args, header, controller.signal);
    const result = await runInCall(ctx, () => fn(...args));
    return { reply: encodeValue([result ?? null, ctx.replyHeader]) };
  } catch (error) {
    return { error: errArgs(error, task.tracebacks) };
  } finally {
    task.cancel.close();
  }
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
  readonly stream = false;
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
    this.peer = task.peer;
    this.tracebacks = task.tracebacks;
    this.taskContext = taskContextOf(header);
  }
}
