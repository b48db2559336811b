/**
 * tsx and pino-pretty are optional peer dependencies: a compiled deployment
 * (`npm i @zrpc/server` and JavaScript apps) runs without them, a `.ts` app
 * or config without tsx is refused with what to install, and logs are JSON
 * lines without pino-pretty. Run from the packed packages, installed the
 * way npm lays them out, with and without the two packages beside them.
 */
import { execFile, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertBuilt, callRaw } from './runner-helpers.js';

const run = promisify(execFile);
const serverDir = fileURLToPath(new URL('..', import.meta.url));
const coreDir = resolve(serverDir, '../core');
const OPTIONAL = ['tsx', 'pino-pretty'];

let project: string;
const modules = () => join(project, 'node_modules');

/** The packed @zrpc/core and @zrpc/server, and their dependencies (not the optional peers). */
beforeAll(async () => {
  assertBuilt();
  project = mkdtempSync(join(tmpdir(), 'zrpc-optional-peers-'));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  for (const dir of [coreDir, serverDir]) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], {
      cwd: dir,
    });
    const [{ filename, name }] = JSON.parse(stdout) as [{ filename: string; name: string }];
    const target = join(modules(), name);
    mkdirSync(target, { recursive: true });
    await run('tar', ['-xzf', join(project, filename), '-C', target, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies).filter((n) => !n.startsWith('@zrpc/'))) {
      link(dep, join(dir, 'node_modules', dep));
    }
  }
  // What the test is about: neither is reachable from the installed server.
  for (const name of OPTIONAL) {
    // `node -e` resolves from the working directory, here the installed server.
    const child = run(process.execPath, ['-e', `require.resolve(${JSON.stringify(name)})`], {
      cwd: join(modules(), '@zrpc/server'),
      env: cleanEnv(),
    });
    await expect(child).rejects.toThrow(/Cannot find module/);
  }
}, 120_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/**
 * The environment of the commands run here: without `NODE_PATH`, which the
 * workspace's command shims set to every package it installed (tsx and
 * pino-pretty included), nor `NODE_OPTIONS`.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  return env;
}

/** Put a workspace-installed package where npm would (`npm i -D <name>`). */
function link(name: string, installed: string): void {
  mkdirSync(dirname(join(modules(), name)), { recursive: true });
  symlinkSync(realpathSync(installed), join(modules(), name), 'dir');
}

function unlink(name: string): void {
  rmSync(join(modules(), name), { force: true });
}

/** A directory app in the project with one `rpcs` module. */
function app(name: string, file: string, source: string): string {
  mkdirSync(join(project, name), { recursive: true });
  writeFileSync(join(project, name, file), source);
  return name;
}

const JS_APP =
  "import { rpc } from '@zrpc/core';\nrpc.register(function twice(n) { return 2 * n; });\n";
const TS_APP =
  "import { rpc } from '@zrpc/core';\nrpc.register(function twice(n: number): number { return 2 * n; });\n";

/** The installed `zrpc-server` command (its `bin`), run to its end or until it listens. */
function zrpcServer(args: string[]): {
  exited: Promise<{ code: number | null; stderr: string }>;
  listening: Promise<string>;
  stop(): void;
} {
  const bin = join(modules(), '@zrpc/server/bin/zrpc-server.js');
  const child = spawn(process.execPath, [bin, ...args], { cwd: project, env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stderr: string }>((done) =>
    child.on('close', (code) => done({ code, stderr })),
  );
  const listening = new Promise<string>((found, failed) => {
    child.stdout.on('data', () => {
      const match = /^Listening on (\S+)$/m.exec(stdout);
      if (match) found(match[1]!);
    });
    void exited.then(({ code }) => failed(new Error(`exited ${code}:\n${stdout}\n${stderr}`)));
  });
  listening.catch(() => {});
  return { exited, listening, stop: () => child.kill('SIGTERM') };
}

describe('without tsx and pino-pretty (a compiled deployment)', () => {
  test('a JavaScript app is served, and the log is JSON lines', async () => {
    const server = zrpcServer(['--app', app('js-app', 'rpcs.js', JS_APP), '127.0.0.1:0']);
    try {
      const endpoint = await server.listening;
      expect(await callRaw(endpoint, 'twice', [21])).toMatchObject({ name: 'OK', args: [42] });
    } finally {
      server.stop();
    }
    const { code, stderr } = await server.exited;
    expect(code).toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('msg');
  }, 30_000);

  test.each([
    ['an app', ['--app', 'ts-app', '127.0.0.1:0'], 'ts-app/rpcs.ts'],
    ['a config', ['--config', 'conf/zrpc.config.ts', '127.0.0.1:0'], 'conf/zrpc.config.ts'],
  ])(
    '%s in TypeScript is refused, naming tsx and how to install it',
    async (_, args, file) => {
      app('ts-app', 'rpcs.ts', TS_APP);
      // Apart from the project's root, where the runner would find it for the app test too.
      app('conf', 'zrpc.config.ts', "export default { apps: ['../ts-app'] };\n");
      const { code, stderr } = await zrpcServer(args).exited;
      expect(code).toBe(1);
      expect(stderr).toBe(
        `${realpathSync(join(project, file))} is TypeScript, which zrpc-server runs through tsx, ` +
          'and tsx is not installed: install it (npm install --save-dev tsx), ' +
          'or compile to JavaScript and serve that\n',
      );
    },
    30_000,
  );

  test('the runner logger falls back to JSON lines when asked for pretty ones', async () => {
    const script = `import { runnerLogger } from '@zrpc/server/runner';
runnerLogger({ pretty: true }).info({ method: 'twice' }, 'twice ok');`;
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      env: cleanEnv(),
    });
    expect(JSON.parse(stderr)).toMatchObject({ level: 30, method: 'twice', msg: 'twice ok' });
  });
});

describe('with tsx and pino-pretty installed beside it (development)', () => {
  beforeAll(() => {
    for (const name of OPTIONAL) link(name, join(serverDir, 'node_modules', name));
  });
  afterAll(() => {
    for (const name of OPTIONAL) unlink(name);
  });

  test('a TypeScript app is served', async () => {
    const server = zrpcServer(['--app', app('ts-app', 'rpcs.ts', TS_APP), '127.0.0.1:0']);
    try {
      const endpoint = await server.listening;
      expect(await callRaw(endpoint, 'twice', [4])).toMatchObject({ name: 'OK', args: [8] });
    } finally {
      server.stop();
    }
    expect((await server.exited).code).toBe(0);
  }, 30_000);

  test('the runner logger writes pretty lines', async () => {
    const script = `import { runnerLogger } from '@zrpc/server/runner';
runnerLogger({ pretty: true }).info({ method: 'twice' }, 'twice ok');`;
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      env: cleanEnv({ NO_COLOR: '1' }),
    });
    expect(stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: twice ok\n$/);
  });
});
