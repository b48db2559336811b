/**
 * Client types derived from a provider's own module, without a code
 * generator: `Client<typeof import('./rpcs.js')>` turns each exported
 * function `f(a: A): R | Promise<R>` into `f(a: A): Promise<R>`, and each
 * function returning an Iterable or AsyncIterable (a generator) into
 * `f(...): AsyncIterable<T>`.
 */

type AnyFunction = (...args: any[]) => any;

/** What a client knows when it is given no API type: any method, any result. */
export type UntypedApi = Record<string, AnyFunction>;

/** The names of an API's functions (other exports are not methods). */
export type MethodName<Api> = {
  [K in keyof Api]-?: Api[K] extends AnyFunction ? K : never;
}[keyof Api] &
  string;

/** The names of an API's streaming functions. */
export type StreamName<Api> = {
  [K in MethodName<Api>]: Result<Api, K> extends StreamReturn<any> ? K : never;
}[MethodName<Api>];

/**
 * The arguments a typed client passes to method `K`: every parameter of the
 * function, optional ones included (a rest parameter stays variadic).
 *
 * Why not let `name?: string` be left out: the server requires every
 * parameter without a default value (Python's rule, which zerorpc callers
 * rely on: `add(1)` is a TypeError naming `b`), and TypeScript erases `?`
 * from the compiled function, so `greet(name?: string)` requires `name` on
 * the wire. A parameter with a default (`name = 'x'`) may be left out there,
 * but its type is the same as `name?: string`, so the types cannot tell the
 * two apart. Requiring both keeps the promise that a call that type-checks
 * is never refused for its number of arguments. (See "Arity" in the
 * @zrpc/core README.)
 */
export type Args<Api, K extends MethodName<Api>> = Required<
  Parameters<Extract<Api[K], AnyFunction>>
>;

type Result<Api, K extends MethodName<Api>> = Awaited<ReturnType<Extract<Api[K], AnyFunction>>>;

type IsAny<T> = 0 extends 1 & T ? true : false;

// Iterables that travel as one value, not as a stream.
type Whole =
  | string
  | Uint8Array
  | readonly unknown[]
  | ReadonlyMap<unknown, unknown>
  | ReadonlySet<unknown>;

type StreamReturn<T> = Iterable<T> | AsyncIterable<T>;

/**
 * What `call()` returns at run time: a Promise of the reply (a value, or an
 * AsyncIterable when the server streams), itself async-iterable over the
 * streamed items.
 */
export type CallResult<T = any, Item = any> = Promise<T> & AsyncIterable<Item>;

/** The client-side result of a function that returns `R`. */
export type Reply<R> =
  IsAny<R> extends true
    ? CallResult
    : [R] extends [Whole]
      ? Promise<R>
      : [R] extends [StreamReturn<infer T>]
        ? AsyncIterable<T>
        : Promise<R>;

/** The items of a stream whose function returns `R`. */
export type StreamItem<R> =
  IsAny<R> extends true ? any : [R] extends [StreamReturn<infer T>] ? T : never;

/** The result of calling method `K` through a client. */
export type ReplyOf<Api, K extends MethodName<Api>> = Reply<Result<Api, K>>;

/** The items of streaming method `K`. */
export type ItemOf<Api, K extends MethodName<Api>> = StreamItem<Result<Api, K>>;

/** An API's functions as remote methods: `client.add(1, 2)`. */
export type RemoteMethods<Api> = {
  [K in MethodName<Api>]: (...args: Args<Api, K>) => ReplyOf<Api, K>;
};
