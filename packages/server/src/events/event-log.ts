import type { CallStatus } from '@zrpc/core';
import { errArgs, realClock } from '@zrpc/core/protocol';
import { BadInputLog } from '../bad-input-log.js';
import { writeLog } from '../log.js';
import type { Logger } from '../options.js';

/** Ignored input from the senders of events is logged at most once a minute. */
export const EVENT_BAD_INPUT_INTERVAL_MS = 60_000;

/**
 * The log of an event receiver: one line per event that ran (info when it
 * succeeded, error with its traceback when it failed: nobody else hears of
 * it), and refused or unreadable events summed up at most once a minute
 * (a PULL or SUB socket cannot tell senders apart, so this bound holds per
 * sender too).
 */
export class EventLog {
  private readonly badInput: BadInputLog;

  constructor(
    private readonly logger: Logger,
    /** `pushed` or `published`: how the events arrive. */
    private readonly how: string,
  ) {
    this.badInput = new BadInputLog(logger, realClock, EVENT_BAD_INPUT_INTERVAL_MS);
  }

  ran(method: string, status: CallStatus, durationMs: number, error: unknown): void {
    // Cut short by a close past its grace (`refused_closing`, having run), or cancelled.
    const cut = status === 'cancelled' || status === 'refused_closing';
    const took = `${cut ? 'after' : 'in'} ${duration(durationMs)}`;
    const fields: Record<string, unknown> = {
      method,
      event: this.how,
      durationMs: Math.round(durationMs * 10) / 10,
      status,
    };
    if (status === 'ok') {
      writeLog(this.logger, 'info', fields, `${method} ok ${took} (${this.how} event)`);
    } else if (status === 'error') {
      fields.err = error;
      const line = `${method} failed ${took} (${this.how} event, not answered): ${describe(error)}`;
      writeLog(this.logger, 'error', fields, line);
    } else {
      fields.error = describe(error);
      const verb = cut ? 'cancelled' : status;
      const line = `${method} ${verb} ${took} (${this.how} event): ${describe(error)}`;
      writeLog(this.logger, 'warn', fields, line);
    }
  }

  /** An event that could not run (unknown method, bad arguments, unreadable): counted, summed up. */
  ignored(kind: string, detail: string): void {
    this.badInput.note(kind, detail);
  }

  flush(): void {
    this.badInput.flush();
  }
}

/** `Name: message`, as the error would have been reported to a caller. */
export function describe(error: unknown): string {
  const [name, message] = errArgs(error, false);
  return message ? `${name}: ${message}` : name;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
