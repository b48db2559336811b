/**
 * Two builds, or two stacks, side by side on one load: each side is an
 * `ab-driver.ts` child (a client and its server child, from the checkout it
 * is in), and the runs alternate A, B, B, A... so that whatever else the
 * shared machine does weighs on both alike. Prints each side's median (and
 * best) rate and CPU µs per operation, main thread + other threads, of its
 * client and server, and the median of the paired rate ratios B/A.
 *
 *   node --import tsx bench/ab.ts <checkout A> <checkout B> [load] [runs] [stacks A] [stacks B]
 *
 * A checkout is a directory holding this repository, built; a side's stacks
 * are `client:server` (`zrpc`, `floor`, `zrpc:floor`...). `AB_SIZE` sets the
 * load's size (ms, or items for the stream), `AB_ENV_A` / `AB_ENV_B` extra
 * environment for a side (`NAME=value,NAME=value`, its server child
 * inherits it): `ZRPC_BENCH_VERBOSITY` (the zrpc server's, default 1),
 * `ZRPC_BENCH_POOL_MAX` (the pool's `max` for the 512-callers load, default
 * `RPCClient`'s). Examples:
 *
 *   node --import tsx bench/ab.ts ../../../base ../.. inFlight64 10     # a change, before and after
 *   node --import tsx bench/ab.ts ../.. ../.. sequential 8 floor zrpc  # zrpc against the floor
 *   AB_ENV_B=ZRPC_BENCH_POOL_MAX=64 node --import tsx bench/ab.ts ../.. ../.. inFlight512 8 floor zrpc
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const [a = '.', b = '.', load = 'inFlight64', runs = '10', stacksA = 'zrpc', stacksB = stacksA] =
  process.argv.slice(2);

/** `NAME=value,NAME=value` as an environment. */
const envOf = (spec: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (spec ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=')),
  );

function driver(checkout: string, stacks: string, env: string | undefined): ChildProcess {
  const cwd = resolve(checkout, 'packages/client');
  return fork(resolve(cwd, 'bench/ab-driver.ts'), [load, ...stacks.split(':')], {
    cwd,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...envOf(env) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** One run: rate, then µs per operation of client main, client others, server main, server others. */
async function run(side: ChildProcess): Promise<number[]> {
  side.send('run');
  const [figures] = (await once(side, 'message')) as [number[]];
  return figures;
}

const sides = [driver(a, stacksA, process.env.AB_ENV_A), driver(b, stacksB, process.env.AB_ENV_B)];
await Promise.all(sides.map((side) => once(side, 'message')));
for (let i = 0; i < 2; i++) for (const side of sides) await run(side); // warm-up
const samples: number[][][] = [[], []];
for (let i = 0; i < Number(runs); i++) {
  for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) samples[k]!.push(await run(sides[k]!));
}
for (const side of sides) side.send('stop');

const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;
const column = (k: number, i: number) => samples[k]!.map((figures) => figures[i]!);
const line = (figures: number[]) => {
  const [rate, ...us] = figures.map((f, i) => (i === 0 ? String(Math.round(f)) : f.toFixed(1)));
  const total = figures.slice(1).reduce((sum, f) => sum + f, 0);
  return `${rate!.padStart(9)}/s   client ${us[0]} + ${us[1]}   server ${us[2]} + ${us[3]}   total ${total.toFixed(1)} µs`;
};
console.log(`${load}, ${runs} runs each, load average ${loadavg()[0]!.toFixed(1)}`);
for (const [k, label] of [
  [0, `A (${a} ${stacksA} ${process.env.AB_ENV_A ?? ''})`],
  [1, `B (${b} ${stacksB} ${process.env.AB_ENV_B ?? ''})`],
] as const) {
  const medians = [0, 1, 2, 3, 4].map((i) => median(column(k, i)));
  const best = [0, 1, 2, 3, 4].map((i) =>
    i === 0 ? Math.max(...column(k, i)) : Math.min(...column(k, i)),
  );
  console.log(`${label}\n  median ${line(medians)}\n  best   ${line(best)}`);
}
const ratios = samples[1]!.map((figures, i) => figures[0]! / samples[0]![i]![0]!);
console.log(`B/A rate, the median of the paired runs' ratios: ${median(ratios).toFixed(2)}`);
