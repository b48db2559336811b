import { createRequire } from 'node:module';
import { type DestinationStream, type Logger as Pino, pino } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { HELD_LINES } from '../log.js';
import { HeldLines } from './held-lines.js';
import { isMissing } from './import-source.js';
import { BatchedDestination } from './log-destination.js';

const require = createRequire(import.meta.url);

/**
 * What each `--verbosity` shows, like Django's 0..3: 0 only errors (failed
 * calls with their traceback); 1, the default, also the start and stop
 * lines, one line per call, refused and lost calls, ignored input; 2 also
 * the `_zerorpc_*` built-in calls and each call's task context; 3 also each
 * call's arguments.
 */
export const VERBOSITY_LEVELS = ['error', 'info', 'debug', 'trace'] as const;

export const DEFAULT_VERBOSITY = 1;

/** Fields the log lines already say in words (see `CallLog` and the runner's start and stop lines). */
const SUMMARISED_FIELDS = [
  'method',
  'peer',
  'durationMs',
  'status',
  'error',
  'server',
  'endpoints',
  'methods',
  'apps',
  'signal',
  'calls',
  'errors',
  'lostRemotes',
  'rejectedBusy',
  'rejectedClosing',
  'eventsRun',
  'eventsFailed',
].join(',');

export interface RunnerLoggerOptions {
  verbosity?: number;
  /** Human-readable lines instead of JSON (default: when stderr is a terminal), if pino-pretty is installed. */
  pretty?: boolean;
}

/**
 * The runner's logger: pino, writing to stderr (stdout is the start banner,
 * as with Django's runserver). On a terminal the lines are pretty
 * (pino-pretty: time, level, the line, a failure's stack), written as they
 * come, when pino-pretty is installed (an optional peer dependency, for
 * development); otherwise they are JSON lines, one object per line with
 * `method`, `peer`, `durationMs`, `status` and `err`, for a log collector (a
 * file, a service manager's pipe), written in batches and at exit (see
 * `BatchedDestination`): a line per call then costs 1.6 µs of CPU instead
 * of 3.5. Either way, the call log's lines are held back up to 10 ms and
 * formatted many at once, in order with the other lines and with their own
 * time (see `HeldLines`).
 */
export function runnerLogger(options: RunnerLoggerOptions = {}): Pino {
  const verbosity = options.verbosity ?? DEFAULT_VERBOSITY;
  const level = VERBOSITY_LEVELS[verbosity] ?? 'info';
  const pretty = (options.pretty ?? process.stderr.isTTY === true) ? prettyLines() : undefined;
  if (pretty === undefined) return loggerHoldingLines(level, new BatchedDestination(2));
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    // Each line says it all: the fields behind it are for JSON readers, or
    // shown from verbosity 2 on. A failure's `err` always shows, with its stack.
    ignore: verbosity < 2 ? `pid,hostname,${SUMMARISED_FIELDS}` : 'pid,hostname',
  });
  return loggerHoldingLines(level, stream);
}

/**
 * pino at `level` to `destination`, holding the call log's lines back to
 * format them many at once (see `HeldLines`): any other line releases them
 * first, and each is written with the time it was held.
 */
export function loggerHoldingLines(level: string, destination: DestinationStream): Pino {
  let logger: Pino | undefined;
  const held = new HeldLines((error) =>
    logger?.error({ err: error }, 'zrpc server: a call log line could not be written'),
  );
  logger = pino(
    {
      level,
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          held.release();
          method.apply(this, args);
        },
      },
      timestamp: () => `,"time":${held.time ?? Date.now()}`,
    },
    destination,
  );
  return Object.assign(logger, { [HELD_LINES]: held });
}

/** pino-pretty's stream factory, or undefined when it is not installed. */
function prettyLines(): ((options: PrettyOptions) => DestinationStream) | undefined {
  try {
    return require('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  } catch (err) {
    if (isMissing(err, 'pino-pretty')) return undefined;
    throw err;
  }
}
