import type { Args, MethodName, ReplyOf } from '../types.js';

/**
 * The names an event may carry to a provider typed `Api`: its functions,
 * less the streaming ones (a puller or subscriber refuses to run those:
 * nothing would read their items).
 */
export type EventName<Api> = {
  [K in MethodName<Api>]: ReplyOf<Api, K> extends Promise<unknown> ? K : never;
}[MethodName<Api>];

/**
 * An API's functions as events: `pusher.ticket_created(42)` sends the event
 * `ticket_created` with the arguments a call would take, and resolves (to
 * nothing) once ZeroMQ has it.
 */
export type EventMethods<Api> = {
  [K in EventName<Api>]: (...args: Args<Api, K>) => Promise<void>;
};
