/**
 * The arity rule on the type side (checked by `tsc --noEmit`, the package's
 * typecheck): a typed client asks for every parameter of a function, those
 * with `?` or a default included; a rest parameter stays variadic.
 * arity.test.ts makes the same calls against a real server.
 */
import { expectTypeOf } from 'vitest';
import { Client } from '../src/index.js';
import type * as Arity from './fixtures/arity.js';

const client = new Client<typeof Arity>();

expectTypeOf(client.pair).parameters.toEqualTypeOf<[a: number, b: number]>();
expectTypeOf(client.greet).parameters.toEqualTypeOf<[name: string]>();
expectTypeOf(client.hello).parameters.toEqualTypeOf<[name: string]>();
expectTypeOf(client.sum).parameters.toEqualTypeOf<[first: number, ...more: number[]]>();
expectTypeOf(client.tagged).parameters.toEqualTypeOf<[tag: string, ...values: string[]]>();
// The same through call().
expectTypeOf(client.call<'greet'>).parameters.toEqualTypeOf<[method: 'greet', name: string]>();

// Left out: refused, whether the server would refuse (`?`) or not (a default).
// @ts-expect-error `name?` is required on the wire
client.greet();
// @ts-expect-error `name = 'world'` has the type of `name?`
client.hello();
// @ts-expect-error `first` is required
client.sum();
// @ts-expect-error `undefined` stands for no argument in JavaScript, not on the wire (nil)
client.greet(undefined);
// @ts-expect-error one argument too many
client.pair(1, 2, 3);
client.sum(1, 2, 3, 4);
client.tagged('t', 'a', 'b');
