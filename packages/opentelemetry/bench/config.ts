/** What the benchmark's parent and its stack processes agree on. */

export type Config = 'none' | 'bare' | 'api only' | 'sdk, 0%' | 'sdk, 100%';
export type LoadName = 'sequential' | 'in flight';

/** A request from the parent: measure `load` for `ms`. */
export interface Measure {
  load: LoadName;
  ms: number;
}

/** How many calls the concurrent load keeps in flight. */
export const IN_FLIGHT = 64;

/** What a stack answers: calls per second, CPU µs per call, and spans exported per call. */
export interface Measured {
  rate: number;
  cpuMicros: number;
  spansPerCall: number;
}
