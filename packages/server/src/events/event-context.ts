import type { ZEvent } from '@zrpc/core/protocol';
import { ServerContext } from '../server-context.js';

const NO_IDENTITY: readonly Buffer[] = Object.freeze([]);

/**
 * The `ServerCallContext` of one event: a call's context with nothing to
 * answer. `oneWay` is true; `peer` is `''` (a PULL or SUB socket does not
 * say which sender an event came from); `replyHeader` and `tracebacks` are
 * there for middleware written for calls, and go nowhere; `result` is
 * dropped.
 */
export class EventContext extends ServerContext {
  readonly oneWay = true;

  constructor(event: ZEvent) {
    super(event, NO_IDENTITY, false, false);
  }
}
