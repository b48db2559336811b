import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Methods that the middleware packages' fixture apps serve alike, beside
 * their own (whatever reports to their backend). Plain functions: a
 * fixture registers them (`registry.register(add)`, streams with
 * `{ stream: true }`), so their names are the method names.
 */

/** An Error subclass without a `name` of its own: callers see `ValueError`. */
export class ValueError extends Error {}

/** An error that is part of the API. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/** What `relay` needs of a zrpc `Client` (typed by shape: the testkit depends on no zrpc package). */
export interface RelayClient {
  call(method: string, ...args: unknown[]): Promise<unknown>;
  close(): Promise<unknown>;
}

/**
 * The method `relay(endpoint, method, args, timeoutMs = 5000)`: calls
 * `method` on the server at `endpoint` through a client that `connect`
 * makes (with the package's client middleware), as a handler calling the
 * next service does, and closes that client.
 */
export function relayThrough(connect: (endpoint: string, timeoutMs: number) => RelayClient) {
  return async function relay(endpoint: string, method: string, args: unknown[], timeoutMs = 5000) {
    const client = connect(endpoint, timeoutMs);
    try {
      return await client.call(method, ...args);
    } finally {
      await client.close();
    }
  };
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Fails with an error that is part of the API: `NotFound`. */
export function find(id: number): never {
  throw new NotFound(`no ticket ${id}`);
}

/** A stream of `0 .. n - 1`, each item `ms` after the one before. */
export async function* count(n: number, ms: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await sleep(ms);
    yield i;
  }
}

/** A stream of `0 .. n - 1` that then fails with `ValueError`. */
export function* count_then_fail(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
  throw new ValueError(`after ${n}`);
}
