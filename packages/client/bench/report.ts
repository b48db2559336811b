import type { Load, Target } from './loads.js';
import type { StackName } from './stacks/stack.js';

export const STACK_NAMES: readonly StackName[] = ['zrpc', 'floor', 'grpc-js'];

/** Rates measured for one load, one list per stack (one rate per round). */
export type Samples = Record<StackName, number[]>;

export interface LoadResult {
  key: string;
  title: string;
  unit: string;
  median: Record<StackName, number>;
  /** zrpc's median over the other stack's. */
  ratio: { floor: number; 'grpc-js': number };
  /**
   * The zrpc/floor ratio of each round taken alone (the two were measured
   * seconds apart), lowest, median and highest: how much the machine's
   * noise moves the ratio.
   */
  floorRatioPerRound: { min: number; median: number; max: number };
  targets: Array<Target & { met: boolean }>;
  samples: Samples;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(load: Load, samples: Samples): LoadResult {
  const med = (name: StackName) => median(samples[name]);
  const ratio = { floor: med('zrpc') / med('floor'), 'grpc-js': med('zrpc') / med('grpc-js') };
  const perRound = samples.zrpc.map((zrpc, round) => zrpc / samples.floor[round]!);
  return {
    key: load.key,
    title: load.title,
    unit: load.unit,
    median: { zrpc: med('zrpc'), floor: med('floor'), 'grpc-js': med('grpc-js') },
    ratio,
    floorRatioPerRound: {
      min: Math.min(...perRound),
      median: median(perRound),
      max: Math.max(...perRound),
    },
    targets: load.targets.map((t) => ({ ...t, met: ratio[t.against] >= t.atLeast })),
    samples,
  };
}

const rate = (value: number) => Math.round(value).toLocaleString('en-US');
const times = (value: number) => `${value.toFixed(2)}x`;

/** The medians and ratios as a plain-text table, one row per load. */
export function table(results: readonly LoadResult[]): string {
  const header = ['load', 'unit', ...STACK_NAMES, 'zrpc/floor', 'per round', 'zrpc/grpc', 'target'];
  const rows = results.map((r) => [
    r.title,
    r.unit,
    ...STACK_NAMES.map((name) => rate(r.median[name])),
    times(r.ratio.floor),
    [r.floorRatioPerRound.min, r.floorRatioPerRound.median, r.floorRatioPerRound.max]
      .map((x) => x.toFixed(2))
      .join(' '),
    times(r.ratio['grpc-js']),
    r.targets.map((t) => `>= ${t.atLeast} ${t.against}: ${t.met ? 'met' : 'MISSED'}`).join('; ') ||
      '-',
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  // Text columns left-aligned, figures right-aligned.
  const line = (row: string[]) =>
    row
      .map((cell, i) =>
        i < 2 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}
