import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Client } from '../src/index.js';

/*
 * `zrpc-server --reload` with clients calling all along: each edit starts a
 * fresh server that takes the port over from the old one, which answers
 * its calls in flight first; a call the old one refuses while it leaves
 * waits in the client for the new one. Not one call may fail.
 */

const require = createRequire(import.meta.url);
const CLI = join(dirname(require.resolve('@zrpc/server/package.json')), 'dist', 'cli.js');
const CORE = dirname(require.resolve('@zrpc/core/package.json'));
const APP = fileURLToPath(new URL('./fixtures/reload-app/', import.meta.url));
const EDITS = 20;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The fixture app in a project of its own (edits stay out of the repository). */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zrpc-reload-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(APP, join(dir, 'app'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@zrpc'), { recursive: true });
  symlinkSync(CORE, join(dir, 'node_modules', '@zrpc', 'core'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

function startReloader(cwd: string): { child: ChildProcess; output: () => string } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [CLI, '--reload', '--app', 'app', '127.0.0.1:0'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output };
}

test(`a file edited ${EDITS} times under zrpc-server --reload while clients call: 0 failed calls`, async () => {
  const dir = project();
  const reloader = startReloader(dir);
  await until(() => /Listening on \S+/.test(reloader.output()), 20_000, 'the first server');
  const endpoint = reloader.output().match(/Listening on (\S+)/)![1]!;
  const client = new Client<{ version(): number; slow(ms: number): number }>({
    endpoints: endpoint,
    timeoutMs: 30_000,
  });
  cleanups.push(() => client.close());

  const failures: string[] = [];
  let answered = 0;
  let newest = 0;
  const record = (version: number) => {
    answered++;
    newest = Math.max(newest, version);
    return version;
  };
  const fail = (error: Error) => {
    failures.push(`${error.name}: ${error.message}`);
    return -1;
  };
  let calling = true;
  // Callers in a loop, one of them with calls in flight for 200 ms; each
  // sees the versions in order (a server never answers after its successor).
  const loops = [0, 1, 2, 3].map(async (caller) => {
    const seen: number[] = [];
    while (calling) {
      const call = caller === 3 ? client.slow(200) : client.version();
      seen.push(await call.then(record, fail));
    }
    return seen;
  });
  // And new calls all the time, not waiting for each other.
  const stream: Array<Promise<unknown>> = [];
  const steady = setInterval(() => stream.push(client.version().then(record, fail)), 5);

  try {
    for (let edit = 1; edit <= EDITS; edit++) {
      writeFileSync(join(dir, 'app', 'version.ts'), `export const VERSION: number = ${edit};\n`);
      await until(() => newest === edit, 30_000, `version ${edit} to be served`);
    }
  } finally {
    calling = false;
    clearInterval(steady);
  }
  const seen = await Promise.all(loops);
  await Promise.all(stream);

  expect(failures).toEqual([]);
  expect(answered).toBeGreaterThan(EDITS * 10);
  for (const versions of seen) {
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  }
  // Each edit was served by its own server, the old one leaving on SIGTERM.
  expect(reloader.output().match(/version\.ts changed, reloading\./g)).toHaveLength(EDITS);
  expect(reloader.output().match(/^Listening on /gm)).toHaveLength(EDITS + 1);

  reloader.child.kill('SIGINT');
  const [code] = await once(reloader.child, 'exit');
  expect(code).toBe(0);
}, 240_000);
