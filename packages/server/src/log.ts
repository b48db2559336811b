import { arityError, type Registry } from '@zrpc/core';
import { errArgs } from '@zrpc/core/protocol';
import { ServerBusyError } from './errors.js';
import type { Logger } from './options.js';
import type { CallRecord } from './server-call.js';

/**
 * The server's log of calls: one line per call when it ends, at the level
 * its outcome deserves.
 *
 * | the call | level | line |
 * | --- | --- | --- |
 * | answered | info (debug for the `_zerorpc_*` built-ins) | `add ok in 0.4 ms (peer 00d2e1f0a7)` |
 * | refused before running: unknown method, wrong arity, server busy | warn | `add refused in 0.1 ms (peer …): TypeError: add(a, b) missing …` |
 * | the handler (or a middleware) failed | error, with the traceback | `divide failed in 0.5 ms (peer …): DivisionByZeroError: …` |
 * | the client went silent | warn | `slow lost its client after 10.0 s (peer …)` |
 * | cancelled (shutdown) | warn | `slow cancelled after 5.0 s (peer …): ServerClosingError: …` |
 *
 * A pino logger (one with `child()` and `bindings()`) is called the pino way,
 * fields first: `{ method, peer, durationMs, outcome, err }`, plus
 * `taskContext` at debug level and `args` at trace level. Any other logger
 * (`console`, `{ info, warn, error }`) gets the line as text, and the
 * error itself after it for a failure, so that `console` prints its stack.
 */
export class CallLog {
  constructor(
    private readonly logger: Logger,
    private readonly registry: Registry,
  ) {}

  ended(record: CallRecord): void {
    const { ctx, durationMs, error } = record;
    const outcome = record.outcome === 'error' && this.refused(record) ? 'refused' : record.outcome;
    const took = `${outcome === 'ok' || outcome === 'refused' || outcome === 'error' ? 'in' : 'after'} ${duration(durationMs)}`;
    const where = `(peer ${ctx.peer})`;
    const what = error === undefined ? '' : `: ${describe(error)}`;
    const line =
      outcome === 'ok'
        ? `${ctx.method} ok ${took} ${where}`
        : outcome === 'lost'
          ? `${ctx.method} lost its client ${took} ${where}`
          : `${ctx.method} ${outcome === 'error' ? 'failed' : outcome} ${took} ${where}${what}`;
    const level: Level =
      outcome === 'ok'
        ? this.isBuiltin(ctx.method)
          ? 'debug'
          : 'info'
        : outcome === 'error'
          ? 'error'
          : 'warn';
    const fields: Record<string, unknown> = {
      method: ctx.method,
      peer: ctx.peer,
      durationMs: Math.round(durationMs * 10) / 10,
      outcome,
    };
    if (outcome === 'error') fields.err = error;
    else if (error !== undefined) fields.error = describe(error);
    const pino = this.logger as PinoLike;
    if (pino.isLevelEnabled?.('debug') && Object.keys(ctx.taskContext).length > 0) {
      fields.taskContext = ctx.taskContext;
    }
    if (pino.isLevelEnabled?.('trace')) fields.args = ctx.args;
    writeLog(this.logger, level, fields, line);
  }

  /** Whether the call was refused before any user code ran (a caller's mistake, or overload). */
  private refused({ ctx, error }: CallRecord): boolean {
    if (error instanceof ServerBusyError) return true;
    // Not in the registry: an unknown method, or a built-in asked about one.
    const spec = this.registry.get(ctx.method);
    if (spec === undefined || arityError(spec, ctx.args.length) !== undefined) return true;
    // A request whose arguments are no array (see ServerCall's checkedMethod).
    return (
      error instanceof TypeError &&
      error.message.startsWith(`${ctx.method}() takes its arguments as an array`)
    );
  }

  private isBuiltin(method: string): boolean {
    return method.startsWith('_zerorpc_') && this.registry.get(method) === undefined;
  }
}

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

type LogMethod = (...args: unknown[]) => void;

/** The parts of a pino logger the call log uses. */
interface PinoLike extends Partial<Record<Level, LogMethod>> {
  info: LogMethod;
  isLevelEnabled?(level: string): boolean;
}

/**
 * One line to any logger: a pino logger gets `(fields, line)`; any other the
 * line, and for an error the `err` field after it (so `console` shows its stack).
 */
export function writeLog(
  logger: Logger,
  level: Level,
  fields: Record<string, unknown>,
  line: string,
): void {
  if (isPinoLike(logger)) {
    const pino = logger as PinoLike;
    (pino[level] ?? pino.info).call(pino, fields, line);
  } else if (level === 'error') {
    if (fields.err === undefined) logger.error(line);
    else logger.error(line, fields.err);
  } else if (level === 'info' || level === 'warn') {
    logger[level](line);
  }
  // A text logger has no levels to filter on: debug and trace lines are not for it.
}

/** pino's calling convention is fields first; `console`'s is text. */
export function isPinoLike(logger: Logger): boolean {
  const candidate = logger as Partial<Record<'child' | 'bindings', unknown>>;
  return typeof candidate.child === 'function' && typeof candidate.bindings === 'function';
}

/** `Name: message`, as the caller sees the error. */
function describe(error: unknown): string {
  const [name, message] = errArgs(error, false);
  return message ? `${name}: ${message}` : name;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
