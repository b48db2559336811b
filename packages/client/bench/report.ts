import type { Load, Target } from './loads.js';
import type { StackName } from './stacks/stack.js';

export const STACK_NAMES: readonly StackName[] = ['zrpc', 'floor', 'grpc-js'];

/** One run of a load on a stack: its rate, and the CPU µs per operation of the client and the server process. */
export interface Sample {
  rate: number;
  clientUs: number;
  serverUs: number;
}

/** What was measured for one load, one list per stack (one sample per round). */
export type Samples = Record<StackName, Sample[]>;

export const emptySamples = (): Samples => ({ zrpc: [], floor: [], 'grpc-js': [] });

/** Median CPU µs per operation of each process. */
export interface CpuPerOperation {
  client: number;
  server: number;
}

type Other = Exclude<StackName, 'zrpc'>;

/** zrpc's rate over another stack's, taken round by round. */
export interface Ratio {
  /** The median of the rounds' ratios: what the targets are judged on. */
  median: number;
  min: number;
  max: number;
}

export interface LoadResult {
  key: string;
  title: string;
  unit: string;
  median: Record<StackName, number>;
  /** The median over the rounds of each process's CPU µs per operation. */
  cpu: Record<StackName, CpuPerOperation>;
  /**
   * zrpc's rate over the other stack's in each round taken alone, then the
   * median of those. A round measures the stacks seconds apart, so its ratio
   * cancels what the shared machine was doing then, which moves every stack
   * alike; the ratio of the overall medians would pair rates from different
   * rounds (it is in `medianRatio`, for comparison).
   */
  ratio: Record<Other, Ratio>;
  medianRatio: Record<Other, number>;
  targets: Array<Target & { met: boolean }>;
  samples: Samples;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function pairedRatio(zrpc: readonly Sample[], other: readonly Sample[]): Ratio {
  const perRound = zrpc.map((sample, round) => sample.rate / other[round]!.rate);
  return { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) };
}

export function summarize(load: Load, samples: Samples): LoadResult {
  const med = (name: StackName) => median(samples[name].map((s) => s.rate));
  const cpu = (name: StackName): CpuPerOperation => ({
    client: median(samples[name].map((s) => s.clientUs)),
    server: median(samples[name].map((s) => s.serverUs)),
  });
  const ratio = {
    floor: pairedRatio(samples.zrpc, samples.floor),
    'grpc-js': pairedRatio(samples.zrpc, samples['grpc-js']),
  };
  return {
    key: load.key,
    title: load.title,
    unit: load.unit,
    median: { zrpc: med('zrpc'), floor: med('floor'), 'grpc-js': med('grpc-js') },
    cpu: { zrpc: cpu('zrpc'), floor: cpu('floor'), 'grpc-js': cpu('grpc-js') },
    ratio,
    medianRatio: { floor: med('zrpc') / med('floor'), 'grpc-js': med('zrpc') / med('grpc-js') },
    targets: load.targets.map((t) => ({ ...t, met: ratio[t.against].median >= t.atLeast })),
    samples,
  };
}

const rate = (value: number) => Math.round(value).toLocaleString('en-US');
const times = (value: number) => `${value.toFixed(2)}x`;
const micros = ({ client, server }: CpuPerOperation) =>
  `${client.toFixed(1)} + ${server.toFixed(1)}`;

/** The medians and ratios as a plain-text table, one row per load. */
export function table(results: readonly LoadResult[]): string {
  const header = [
    'load',
    'unit',
    ...STACK_NAMES,
    'zrpc/floor',
    'rounds',
    'zrpc/grpc',
    'zrpc CPU µs/op',
    'floor CPU µs/op',
    'target',
  ];
  const rows = results.map((r) => [
    r.title,
    r.unit,
    ...STACK_NAMES.map((name) => rate(r.median[name])),
    times(r.ratio.floor.median),
    `${r.ratio.floor.min.toFixed(2)}-${r.ratio.floor.max.toFixed(2)}`,
    times(r.ratio['grpc-js'].median),
    micros(r.cpu.zrpc),
    micros(r.cpu.floor),
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
