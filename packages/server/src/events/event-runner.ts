import {
  ArgumentsError,
  arityError,
  type CallStatus,
  type ComposedMiddleware,
  type MethodSpec,
  type Registry,
  type ServerCallContext,
  statusOf,
} from '@zrpc/core';
import { runInCall, type ZEvent } from '@zrpc/core/protocol';
import { NameError } from '../errors.js';
import { isPromiseLike } from '../values.js';
import type { WorkerPool } from '../worker-pool.js';
import { EventContext } from './event-context.js';

/** What running an event needs from its receiver. */
export interface EventHost {
  readonly registry: Registry;
  /** Undefined without middleware: the handler is called directly. */
  readonly middleware: ComposedMiddleware<ServerCallContext> | undefined;
  readonly workers: Pick<WorkerPool, 'run'>;
}

/** How one event ended. */
export interface EventOutcome {
  readonly method: string;
  readonly status: CallStatus;
  /** What it failed with, for any status but `ok`. */
  readonly error?: unknown;
  /** Whether its handler (or middleware) ran: false for a refused event. */
  readonly ran: boolean;
  /** Its context, for an event that ran. */
  readonly ctx?: EventContext;
}

/**
 * Run one event the way a server runs a call, minus the reply: look up
 * its method (registered methods only: the `_zerorpc_*` built-ins answer
 * calls and mean nothing here), check its arguments, then run the
 * middleware chain around the handler inside `runInCall`, so that
 * `currentCall()` and the task context work as in a call.
 *
 * Refused before running: an unknown method (`unknown_method`); arguments
 * that are not an array or do not fit, or a stream method (nothing would
 * read its items; `bad_arguments`).
 *
 * Answers the outcome at once when the event is over in this turn (refused,
 * or a synchronous handler without middleware), else `started` is told the
 * context and a promise of the outcome is answered. Never throws or rejects.
 */
export function runEvent(
  host: EventHost,
  event: ZEvent,
  started: (ctx: EventContext) => void,
): EventOutcome | Promise<EventOutcome> {
  const spec = host.registry.get(event.name);
  const refusal = refusalOf(spec, event);
  if (refusal !== undefined) {
    return { method: event.name, status: statusOf(refusal), error: refusal, ran: false };
  }
  const ctx = new EventContext(event);
  let running: unknown;
  try {
    running = runInCall(ctx, () =>
      host.middleware === undefined
        ? handle(host, spec!, ctx)
        : host.middleware(ctx, inner(host, spec!, ctx)),
    );
  } catch (error) {
    return failed(ctx, error);
  }
  if (!isPromiseLike(running)) return { method: ctx.method, status: 'ok', ran: true, ctx };
  started(ctx);
  return Promise.resolve(running).then(
    () => ({ method: ctx.method, status: 'ok' as const, ran: true, ctx }),
    (error: unknown) => failed(ctx, error),
  );
}

/** Why `event` cannot run, if it cannot. */
function refusalOf(spec: MethodSpec | undefined, event: ZEvent): Error | undefined {
  const { name, args } = event;
  if (spec === undefined) return new NameError(name);
  if (spec.stream) {
    return new ArgumentsError(
      `${name}() is a stream method: an event cannot run it (nothing would read its items)`,
    );
  }
  if (!Array.isArray(args)) {
    return new ArgumentsError(`${name}() takes its arguments as an array, not ${typeof args}`);
  }
  const arity = arityError(spec, args.length);
  return arity === undefined ? undefined : new ArgumentsError(arity);
}

/** The innermost step of the chain: the handler, its value kept as `ctx.result`. */
function inner(host: EventHost, spec: MethodSpec, ctx: EventContext): () => Promise<void> {
  return async () => {
    await handle(host, spec, ctx);
  };
}

/** Call the handler (on a worker for `{ worker }` methods): a value, or a promise when it is async. */
function handle(host: EventHost, spec: MethodSpec, ctx: EventContext): unknown {
  const produced = spec.worker === undefined ? spec.fn(...ctx.args) : host.workers.run(spec, ctx);
  if (!isPromiseLike(produced)) {
    ctx.result = produced;
    return undefined;
  }
  return Promise.resolve(produced).then((value) => {
    ctx.result = value;
  });
}

/**
 * An event that ran and failed: by what cut it short (a close past its
 * grace), or else the handler's error, whatever its name (a handler passing
 * on a `LostRemoteError` of its own call failed).
 */
function failed(ctx: EventContext, error: unknown): EventOutcome {
  const reason = ctx.abortReason;
  const status = reason !== undefined ? statusOf(reason) : 'error';
  return { method: ctx.method, status, error, ran: true, ctx };
}
