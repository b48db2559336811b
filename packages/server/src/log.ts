import { type CallEnd, type CallStatus, isRefusal, type Registry } from '@zrpc/core';
import { errArgs } from '@zrpc/core/protocol';
import type { Logger } from './options.js';

/**
 * The server's log of calls, an observer of every request's `CallEnd`: one
 * line per request when it ends, at the level its status deserves.
 *
 * | the call | level | line |
 * | --- | --- | --- |
 * | answered (`ok`) | info (debug for the `_zerorpc_*` built-ins) | `add ok in 0.4 ms (peer 00d2e1f0a7)` |
 * | refused before running: unknown method, bad arguments, busy, peer limit, closing | warn | `add refused in 0.1 ms (peer …): TypeError: add(a, b) missing …` |
 * | the handler (or a middleware) failed (`error`) | error, with the traceback | `divide failed in 0.5 ms (peer …): DivisionByZeroError: …` |
 * | the client went away (`lost`) | warn | `slow lost its client after 10.0 s (peer …)` |
 * | cancelled by the client, or cut short by a shutdown | warn | `slow cancelled after 5.0 s (peer …): ServerClosingError: …` |
 * | a protocol error (a reply over the send budget, an unreadable request) | warn | `big failed in 2.0 ms (peer …): SendBudgetError: …` |
 *
 * A pino logger (one with `child()` and `bindings()`) is called the pino way,
 * fields first: `{ method, peer, durationMs, status, err }`, plus
 * `taskContext` at debug level and `args` at trace level. Any other logger
 * (`console`, `{ info, warn, error }`) gets the line as text, and the
 * error itself after it for a failure, so that `console` prints its stack.
 */
export class CallLog {
  /** Where the logger holds lines back, if it does (its own property: not a child's). */
  private readonly held: HeldLinesOf | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly registry: Registry,
  ) {
    this.held = Object.hasOwn(logger, HELD_LINES)
      ? (logger as unknown as { [HELD_LINES]: HeldLinesOf })[HELD_LINES]
      : undefined;
  }

  readonly ended = (end: CallEnd): void => {
    if (this.held === undefined) this.write(end);
    else this.held.hold(this.write, end);
  };

  private readonly write = (end: CallEnd): void => {
    const { method, peer, status, durationMs, error, ctx } = end;
    const verb = isRefusal(status) && !end.ran ? 'refused' : VERBS[status];
    const took = `${verb === 'ok' || verb === 'refused' || verb === 'failed' ? 'in' : 'after'} ${duration(durationMs)}`;
    const where = `(peer ${peer})`;
    const what = error === undefined || status === 'lost' ? '' : `: ${describe(error)}`;
    const line = `${method} ${verb} ${took} ${where}${what}`;
    const level: Level =
      status === 'ok'
        ? this.isBuiltin(method)
          ? 'debug'
          : 'info'
        : status === 'error'
          ? 'error'
          : 'warn';
    const fields: Record<string, unknown> = {
      method,
      peer,
      durationMs: Math.round(durationMs * 10) / 10,
      status,
    };
    if (status === 'error') fields.err = error;
    else if (error !== undefined) fields.error = describe(error);
    const pino = this.logger as PinoLike;
    if (ctx !== undefined && pino.isLevelEnabled?.('debug')) {
      if (Object.keys(ctx.taskContext).length > 0) fields.taskContext = ctx.taskContext;
      if (pino.isLevelEnabled('trace')) fields.args = ctx.args;
    }
    writeLog(this.logger, level, fields, line);
  };

  private isBuiltin(method: string): boolean {
    return method.startsWith('_zerorpc_') && this.registry.get(method) === undefined;
  }
}

/**
 * Where a logger may keep a `HeldLinesOf` (the runner's does): the call
 * log then hands it each line to format later, in order with the logger's
 * other lines and with the time it was handed over (runner/held-lines.ts).
 */
export const HELD_LINES = Symbol.for('@zrpc/server/held-lines');

export interface HeldLinesOf {
  /** Run `write(arg)` later, as if now. */
  hold<T>(write: (arg: T) => void, arg: T): void;
}

/** How a line says each status that is not a refusal. */
const VERBS: Readonly<Record<CallStatus, string>> = {
  ok: 'ok',
  error: 'failed',
  unknown_method: 'refused',
  bad_arguments: 'refused',
  refused_busy: 'refused',
  refused_peer_limit: 'refused',
  refused_closing: 'cancelled', // ran, and a shutdown cut it short
  lost: 'lost its client',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  protocol_error: 'failed',
};

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
