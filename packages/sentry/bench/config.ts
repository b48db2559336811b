/** The benchmark's configurations, the baseline first (see calls.ts). */
export const CONFIGS = ['off', 'noop', 'on, rate 1', 'on, rate 0', 'errors only'] as const;
export type Config = (typeof CONFIGS)[number];
