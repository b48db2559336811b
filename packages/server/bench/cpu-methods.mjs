// The methods of bench/workers.ts: the same CPU-bound function on the event
// loop and on the worker pool, and a cheap one. Each worker thread imports
// this module too, to find the worker method by name.
import { Registry } from '@zrpc/core';

export const registry = new Registry();

/** About `ms` of pure computation, no await: what starves an event loop. */
function burn(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x > 0;
}

registry.register(burn, { name: 'burnOnLoop' });
registry.register(burn, { name: 'burnOnWorker', worker: true });
registry.register(function cheap(n) {
  return n + 1;
});
