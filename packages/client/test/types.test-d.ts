/**
 * Compile-time proof that clients are typed from the provider's module
 * without a code generator. Checked by `tsc --noEmit` (the package's
 * typecheck); each `@ts-expect-error` fails the check if its line compiles.
 */
import { expectTypeOf } from 'vitest';
import { type CallResult, Client, createClient, RPCClient } from '../src/index.js';
import type * as Provider from './fixtures/provider.js';

type Api = typeof Provider;

const client = new Client<Api>();
const pool = new RPCClient<Api>();

// Plain functions: same parameters, the result as a Promise.
expectTypeOf(client.add).toEqualTypeOf<(a: number, b: number) => Promise<number>>();
// A parameter with a default is passed too (see Args in src/types.ts, and arity.test-d.ts).
expectTypeOf(client.greet).toEqualTypeOf<(name: string, punctuation: string) => Promise<string>>();
expectTypeOf(client.pair()).toEqualTypeOf<Promise<[number, string]>>();
expectTypeOf(client.blob(4)).toEqualTypeOf<Promise<Uint8Array>>();
expectTypeOf(client.big()).toEqualTypeOf<Promise<bigint>>();
expectTypeOf(client.fail('x')).toEqualTypeOf<Promise<never>>();
// Generators: an AsyncIterable of their items.
expectTypeOf(client.count(3)).toEqualTypeOf<AsyncIterable<number>>();
expectTypeOf(client.words('a b')).toEqualTypeOf<AsyncIterable<string>>();

// The same through call(), stream(), views and the pool.
expectTypeOf(client.call('add', 1, 2)).toEqualTypeOf<Promise<number>>();
expectTypeOf(client.call('count', 3)).toEqualTypeOf<AsyncIterable<number>>();
expectTypeOf(client.stream('words', 'a b')).toEqualTypeOf<AsyncIterableIterator<string>>();
expectTypeOf(client.withOptions({ timeoutMs: 100 }).add(1, 2)).toEqualTypeOf<Promise<number>>();
expectTypeOf(pool.add(1, 2)).toEqualTypeOf<Promise<number>>();
expectTypeOf(pool.withOptions({}).count(2)).toEqualTypeOf<AsyncIterable<number>>();
expectTypeOf(createClient<Api>().greet('x', '?')).toEqualTypeOf<Promise<string>>();
// Real members keep their types.
expectTypeOf(client.openChannels).toEqualTypeOf<number>();
expectTypeOf(client.close()).toEqualTypeOf<Promise<void>>();

// A wrong method name does not compile...
// @ts-expect-error no such method
client.nope();
// @ts-expect-error no such method
client.call('nope');
// @ts-expect-error no such method
pool.nope();
// @ts-expect-error a constant is not a method
client.version();
// @ts-expect-error nor is the registry
client.call('registry');
// ...nor wrong arguments...
// @ts-expect-error a string where a number goes
client.add('1', 2);
// @ts-expect-error a missing argument
client.add(1);
// @ts-expect-error one argument too many
client.call('add', 1, 2, 3);
// @ts-expect-error wrong argument type through a view
client.withOptions({}).greet(42);
// ...nor a wrong result type...
// @ts-expect-error add resolves to a number
const text: Promise<string> = client.add(1, 2);
// @ts-expect-error count streams numbers
const letters: AsyncIterable<string> = client.count(3);
// ...nor stream() of a method that does not stream.
// @ts-expect-error add does not stream
client.stream('add', 1, 2);

// Untyped: any method, any arguments; the reply is a value or a stream.
// (Remote methods come from an index signature: with noUncheckedIndexedAccess
// they read as possibly undefined, hence the `!`.)
const untyped = new Client();
expectTypeOf(untyped.anything!(1, 'two')).toEqualTypeOf<CallResult>();
expectTypeOf(untyped.openChannels).toEqualTypeOf<number>();
expectTypeOf(untyped.call('anything')).toEqualTypeOf<CallResult>();

void [text, letters];
