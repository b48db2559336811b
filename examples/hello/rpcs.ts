/**
 * The hello app: a first zrpc provider. The runner finds this `rpcs` module,
 * imports it, and serves what it registers:
 *
 *   node packages/server/dist/cli.js --app examples/hello
 *
 * The functions stay plain, exported functions (`rpc.register` returns them
 * unchanged), so they can be tested and called locally, and a consumer can
 * type its client with `import type * as Hello from '@zrpc/example-hello/rpcs'`.
 */
import { rpc } from '@zrpc/core';

/** Greets `name`: `hello('Ada')` is `'Hello, Ada!'`. */
export function hello(name = 'world'): string {
  return `Hello, ${name}!`;
}

/** Adds two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** Streams n, n-1, ..., 1: the client iterates the items as they arrive. */
export function* countdown(n: number): Generator<number> {
  for (let i = n; i >= 1; i--) yield i;
}

/** What `divide` throws for a zero divisor; the client sees an ERR of this name. */
export class DivisionByZeroError extends Error {
  override name = 'DivisionByZeroError';
}

/** Divides a by b, and refuses b = 0 rather than answering Infinity or NaN. */
export function divide(a: number, b: number): number {
  if (b === 0) throw new DivisionByZeroError(`cannot divide ${a} by zero`);
  return a / b;
}

rpc.register(hello, { doc: "Greets name: hello('Ada') returns 'Hello, Ada!'." });
rpc.register(add, { doc: 'Returns a + b.' });
rpc.register(countdown, { stream: true, doc: 'Streams the numbers from n down to 1.' });
rpc.register(divide, { doc: 'Returns a / b; fails with DivisionByZeroError when b is 0.' });
