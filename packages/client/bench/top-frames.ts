/**
 * The top self-time frames of a V8 CPU profile (`node --cpu-prof`), as a
 * Markdown table: where a process spends its own time, function by function.
 *
 *   node --import tsx bench/top-frames.ts <file.cpuprofile> [count=15] [skipMs=2000]
 *
 * The first `skipMs` of the profile are left out: the process starting
 * (modules loaded and compiled), not the load being profiled.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, count = '15', skipMs = '2000'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: top-frames.ts <file.cpuprofile> [count]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const frameOf = new Map<number, string>();
for (const { id, callFrame } of profile.nodes) {
  const { functionName, url, lineNumber } = callFrame;
  // node_modules/<package>/...: the package says more than the file.
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url)?.[1];
  const where = url === '' ? '' : `${pkg ? `${pkg} ` : ''}${basename(url)}:${lineNumber + 1}`;
  frameOf.set(id, `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`);
}
const selfUs = new Map<string, number>();
let totalUs = 0;
let elapsedUs = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  elapsedUs += delta;
  if (elapsedUs < Number(skipMs) * 1000) return;
  const frame = frameOf.get(id)!;
  selfUs.set(frame, (selfUs.get(frame) ?? 0) + delta);
  totalUs += delta;
});
const idle = selfUs.get('(idle)') ?? 0;
const busy = totalUs - idle;
const rows = [...selfUs]
  .filter(([frame]) => frame !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count));
console.log(
  `${basename(file)}: ${(busy / 1000).toFixed(0)} ms busy of ${(totalUs / 1000).toFixed(0)} ms\n`,
);
console.log('| self ms | % of busy | frame |');
console.log('| ---: | ---: | --- |');
for (const [frame, us] of rows) {
  console.log(`| ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} | \`${frame}\` |`);
}
