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

/** The parameters of method `K`. */
export type Args<Api, K extends MethodName<Api>> = Parameters<Extract<Api[K], AnyFunction>>;

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
