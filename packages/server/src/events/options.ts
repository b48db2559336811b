import { availableParallelism } from 'node:os';
import { type CallObserver, type Registry, rpc, type ServerMiddleware } from '@zrpc/core';
import { consoleWarnings, type Logger } from '../options.js';

/** Options a `Puller` and a `Subscriber` share. */
export interface EventServerOptions {
  /** The methods events may run (default: the global `rpc` registry, as a `Server`). */
  registry?: Registry;
  /** Wraps every event's handler, outermost first, with a context whose `oneWay` is true. */
  middleware?: readonly ServerMiddleware[];
  /**
   * Most events running at once (default 100). Set 1 to run them one at a
   * time in the order they arrive, as zerorpc-python's Puller does.
   */
  concurrency?: number;
  /**
   * Bytes of the events held at once (read and not yet finished, counted by
   * their size on the wire; default 32 MiB). At either bound the receiver
   * reads no more until an event ends: the rest wait in ZeroMQ, whose
   * receive pipe fair-queues between the connected senders.
   */
  byteBudget?: number;
  /** Where failures and ignored input are logged (default: `console` for warnings and errors). */
  logger?: Logger;
  /** Told one `CallEnd` (with `oneWay: true`) per event received, refusals included. */
  observers?: readonly CallObserver[];
  /** Threads for the methods registered with `{ worker }` (default: the machine's cores; started on first use). */
  workers?: number;
}

export interface ResolvedEventOptions {
  registry: Registry;
  middleware: readonly ServerMiddleware[];
  concurrency: number;
  byteBudget: number;
  logger: Logger;
  observers: readonly CallObserver[];
  workers: number;
}

export const DEFAULT_EVENT_CONCURRENCY = 100;
export const DEFAULT_BYTE_BUDGET = 32 * 1024 * 1024;

export function resolveEventOptions(options: EventServerOptions): ResolvedEventOptions {
  return {
    registry: options.registry ?? rpc,
    middleware: options.middleware ?? [],
    concurrency: count('concurrency', options.concurrency ?? DEFAULT_EVENT_CONCURRENCY, 1),
    byteBudget: count('byteBudget', options.byteBudget ?? DEFAULT_BYTE_BUDGET, 1),
    logger: options.logger ?? consoleWarnings,
    observers: options.observers ?? [],
    workers: count('workers', options.workers ?? availableParallelism(), 1),
  };
}

function count(option: string, value: number, min: number): number {
  if (!(Number.isSafeInteger(value) && value >= min)) {
    throw new RangeError(`${option} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
