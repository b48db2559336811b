import { performance } from 'node:perf_hooks';
import type { MethodSpec, ServerCallContext } from '@zrpc/core';
import type { CallHost } from './call-host.js';

/**
 * Run the handler of `spec` for the call `ctx`: on the worker pool for a
 * method registered with `{ worker }`, else here, on the event loop, timing
 * how long it holds the loop. Answers what it produced: a value, a promise
 * of one, or for a stream its Iterable or AsyncIterable.
 */
export function runHandler(
  host: Pick<CallHost, 'workers' | 'blockedLoop' | 'blockWarnMs'>,
  spec: MethodSpec,
  ctx: ServerCallContext,
): unknown {
  if (spec.worker !== undefined) {
    if (host.workers === undefined) {
      throw new Error(`${spec.name}() runs on workers, but this server has none`);
    }
    return spec.stream ? host.workers.stream(spec, ctx) : host.workers.run(spec, ctx);
  }
  const { blockedLoop, blockWarnMs = Number.POSITIVE_INFINITY } = host;
  if (blockedLoop === undefined) return checked(spec, spec.fn(...ctx.args));
  const started = performance.now();
  try {
    return checked(spec, spec.fn(...ctx.args));
  } finally {
    const heldMs = performance.now() - started;
    if (heldMs > blockWarnMs) blockedLoop.call(host, spec.name, heldMs);
  }
}

/**
 * A method not registered as a stream that hands back a generator (a plain
 * function returning one: registration refuses generator functions
 * themselves) would be answered with an empty map: refuse it, saying how
 * to fix it. The generator has not run (generators are lazy).
 */
function checked(spec: MethodSpec, produced: unknown): unknown {
  // (A generator is an object: most results are not, and need no tag.)
  if (spec.stream || typeof produced !== 'object' || !isGenerator(produced)) return produced;
  throw new TypeError(
    `${spec.name}() returned a generator: register it with { stream: true } to stream its items`,
  );
}

function isGenerator(value: unknown): boolean {
  const tag = Object.prototype.toString.call(value);
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]';
}
