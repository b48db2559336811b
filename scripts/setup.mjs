// Installs the workspace with the pinned pnpm when node_modules is missing or
// older than the lockfile, so `npm start` and `npm test` work on a machine
// with only Node.js and npm.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.modules.yaml';
const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync('pnpm-lock.yaml').mtimeMs;
if (!fresh) {
  const { packageManager } = JSON.parse(
    await import('node:fs').then((fs) => fs.readFileSync('package.json', 'utf8')),
  );
  console.log(`Installing dependencies with ${packageManager}...`);
  const result = spawnSync('npx', ['--yes', packageManager, 'install', '--frozen-lockfile'], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
