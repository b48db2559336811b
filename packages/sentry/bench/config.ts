/** What the benchmark's parent and its stack processes agree on. */

export type Config = 'off' | 'noop' | 'on, rate 1' | 'on, rate 0' | 'errors only';
export type LoadName = 'sequential' | 'in flight';

/** A request from the parent: measure `load` for `ms`. */
export interface Measure {
  load: LoadName;
  ms: number;
}

/** How many calls the concurrent load keeps in flight. */
export const IN_FLIGHT = 64;

/** What a stack answers: calls per second, and CPU µs per call (server and client together). */
export interface Measured {
  rate: number;
  cpuMicros: number;
}
