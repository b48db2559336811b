/** The benchmark's configurations, the baseline first (see calls.ts). */
export const CONFIGS = ['none', 'bare', 'api only', 'sdk, 0%', 'sdk, 100%'] as const;
export type Config = (typeof CONFIGS)[number];
