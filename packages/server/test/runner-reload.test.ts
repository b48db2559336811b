// zrpc-server --reload: a real reloader process, real edits of a copy of an
// app, raw calls to what it serves. (The zrpc client calling all along,
// with not one call failed over 20 reloads, is packages/client's
// reload.test.ts.)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { assertBuilt, CLI, callRaw } from './runner-helpers.js';

const APP = fileURLToPath(new URL('./fixtures/reload-app/', import.meta.url));
const CORE = fileURLToPath(new URL('../../core/', import.meta.url));
const WAIT_MS = 20_000;

beforeAll(assertBuilt);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A copy of the fixture app in a project of its own, and a way to write its files. */
function project(config?: string): { dir: string; write(file: string, text: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zrpc-runner-reload-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(APP, join(dir, 'app'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@zrpc'), { recursive: true });
  symlinkSync(CORE, join(dir, 'node_modules', '@zrpc', 'core'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  if (config !== undefined) writeFileSync(join(dir, 'zrpc.config.mjs'), config);
  return { dir, write: (file, text) => writeFileSync(join(dir, file), text) };
}

class Runner {
  readonly child: ChildProcess;
  output = '';

  constructor(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    const environment = { ...process.env, ...env };
    delete environment.NODE_OPTIONS;
    delete environment.npm_package_name;
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    cleanups.push(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill('SIGKILL');
      }
    });
  }

  /** Resolves once `pattern` has matched `count` times in what it printed (stdout and stderr). */
  async printed(pattern: RegExp, count = 1): Promise<void> {
    const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    const deadline = Date.now() + WAIT_MS;
    while ((this.output.match(global)?.length ?? 0) < count) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`not ${count} × ${pattern} in:\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  get endpoint(): string {
    return this.output.match(/^Listening on (\S+)$/m)![1]!;
  }

  exit(): Promise<[number | null, NodeJS.Signals | null]> {
    return once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }
}

async function call(endpoint: string, method: string): Promise<unknown> {
  const reply = await callRaw(endpoint, method, []);
  return reply.name === 'OK' ? (reply.args as unknown[])[0] : reply.args;
}

test('a syntax or import error is printed and the last good server keeps serving until a change fixes it', async () => {
  const app = project();
  const runner = new Runner(['--reload', '--app', 'app', '127.0.0.1:0'], app.dir);
  await runner.printed(/^Listening on /m);
  const endpoint = runner.endpoint;
  expect(await call(endpoint, 'version')).toBe(0);

  app.write('app/version.ts', 'export const VERSION: number = ;\n');
  await runner.printed(/The new server did not start \(exit 1\)/);
  expect(runner.output).toMatch(/version\.ts:1:\d+: ERROR/);
  expect(await call(endpoint, 'version')).toBe(0);

  // An import of a module that does not exist yet: then creating it is the fix.
  app.write('app/version.ts', "export { VERSION } from './next.js';\n");
  await runner.printed(/The new server did not start \(exit 1\)/, 2);
  expect(await call(endpoint, 'version')).toBe(0);
  app.write('app/next.ts', 'export const VERSION: number = 2;\n');
  await runner.printed(/^Listening on /m, 2);
  expect(await call(endpoint, 'version')).toBe(2);

  // What the app imports now is watched too.
  app.write('app/next.ts', 'export const VERSION: number = 3;\n');
  await runner.printed(/^Listening on /m, 3);
  expect(await call(endpoint, 'version')).toBe(3);
  expect(runner.endpoint).toBe(endpoint);

  runner.child.kill('SIGTERM');
  expect(await runner.exit()).toEqual([0, null]);
}, 90_000);

test("the config's reload key turns it on, and the config is watched", async () => {
  const config = (name: string) =>
    `export default { apps: ['app'], reload: true, server: { name: '${name}' } };\n`;
  const app = project(config('first'));
  const runner = new Runner(['127.0.0.1:0'], app.dir);
  await runner.printed(/^Listening on /m);
  expect(runner.output).toMatch(/Reloading on changes/);
  expect(await call(runner.endpoint, '_zerorpc_name')).toBe('first');

  app.write('zrpc.config.mjs', config('second'));
  await runner.printed(/zrpc\.config\.mjs changed, reloading\./);
  await runner.printed(/^Listening on /m, 2);
  expect(await call(runner.endpoint, '_zerorpc_name')).toBe('second');

  runner.child.kill('SIGINT');
  expect(await runner.exit()).toEqual([0, null]);
}, 60_000);

test('refused with NODE_ENV=production, from the command line (exit 2) or the config (exit 1)', async () => {
  const app = project('export default { apps: ["app"], reload: true };\n');
  const production = { NODE_ENV: 'production' };
  const flag = new Runner(['--reload', '--app', 'app', '127.0.0.1:0'], app.dir, production);
  expect(await flag.exit()).toEqual([2, null]);
  expect(flag.output).toMatch(
    /--reload: reloading is for development: it is refused with NODE_ENV=production/,
  );
  expect(flag.output).not.toMatch(/Listening on/);

  const key = new Runner(['127.0.0.1:0'], app.dir, production);
  expect(await key.exit()).toEqual([1, null]);
  expect(key.output).toMatch(/zrpc\.config\.mjs: reloading is for development/);
});

test('a server whose reloader is killed stops too: nothing is left holding the port', async () => {
  const app = project();
  const runner = new Runner(['--reload', '--app', 'app', '127.0.0.1:0'], app.dir);
  await runner.printed(/^Listening on /m);
  // The server's start line (JSON on stderr, written up to 10 ms later) names its process.
  await runner.printed(/"pid":(\d+),"endpoints"/);
  const pid = Number(runner.output.match(/"pid":(\d+),"endpoints"/)![1]);
  expect(pid).not.toBe(runner.child.pid);
  runner.child.kill('SIGKILL');
  await runner.exit();
  const deadline = Date.now() + WAIT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`the server (pid ${pid}) outlived its reloader`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
