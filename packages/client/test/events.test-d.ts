/**
 * Compile-time proof that pushers and publishers are typed from the
 * receiving provider's module, as clients are. Checked by `tsc --noEmit`;
 * each `@ts-expect-error` fails the check if its line compiles.
 */
import { expectTypeOf } from 'vitest';
import { type EventName, Publisher, Pusher } from '../src/index.js';
import type * as Handlers from './fixtures/event-handlers.js';

type Api = typeof Handlers;

const pusher = new Pusher<Api>();
const publisher = new Publisher<Api>({ topics: true });

// Each function is an event taking the same arguments (defaults included, as a call), resolving to nothing.
expectTypeOf(pusher.ticket_created).toEqualTypeOf<(id: number, title: string) => Promise<void>>();
expectTypeOf(pusher.resize_image).toEqualTypeOf<(id: number, size: string) => Promise<void>>();
expectTypeOf(pusher.push('ticket_created', 1, 'x')).toEqualTypeOf<Promise<void>>();
expectTypeOf(publisher.ticket_created(1, 'x')).toEqualTypeOf<Promise<void>>();
expectTypeOf(publisher.publish('resize_image', 1, 'big')).toEqualTypeOf<Promise<void>>();
// Streams are no events; nor are values that are not functions.
expectTypeOf<EventName<Api>>().toEqualTypeOf<'ticket_created' | 'resize_image'>();
// Real members keep their types.
expectTypeOf(pusher.close()).toEqualTypeOf<Promise<void>>();
expectTypeOf(pusher.endpoints).toEqualTypeOf<string[]>();

// @ts-expect-error no such event
pusher.ticket_deleted(1);
// @ts-expect-error a stream method cannot be an event
pusher.count(3);
// @ts-expect-error wrong argument type
pusher.ticket_created('1', 'x');
// @ts-expect-error missing argument
pusher.push('ticket_created', 1);
// @ts-expect-error not a function of the module
publisher.publish('registry');

// Untyped: any name, any arguments.
const untyped = new Pusher();
expectTypeOf(untyped.anything!(1, 'two')).toEqualTypeOf<Promise<void>>();
expectTypeOf(untyped.push('anything')).toEqualTypeOf<Promise<void>>();
