// Runs every package's tests through turbo, then prints one closing line,
// `N passed, N failed, N skipped`, summed from the vitest JSON reports.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const reports = ['packages', 'examples'].flatMap((dir) =>
  readdirSync(dir).map((name) => join(dir, name, 'test-results.json')),
);
for (const report of reports) rmSync(report, { force: true });

const run = spawnSync(
  'turbo',
  ['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const report of reports.filter((file) => existsSync(file))) {
  const result = JSON.parse(readFileSync(report, 'utf8'));
  passed += result.numPassedTests;
  // A test file that could not run (its beforeAll or an import threw) fails with no failing
  // test, and a global setup that threw (no database, say) leaves no file at all: each counts
  // as one failure, so that the closing line never reads "0 failed" for a run that broke.
  const brokenFiles = result.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed'),
  ).length;
  const setupFailed = result.success === false && result.numFailedTests + brokenFiles === 0;
  failed += result.numFailedTests + brokenFiles + (setupFailed ? 1 : 0);
  skipped += result.numPendingTests + (result.numTodoTests ?? 0);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status !== 0 || failed > 0 || passed === 0 ? 1 : 0);
