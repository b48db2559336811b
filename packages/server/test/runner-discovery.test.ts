// Autodiscovery through the built command: node dist/cli.js in a child
// process, serving the fixture apps on an ephemeral port, called over ZeroMQ.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  APPS,
  assertBuilt,
  callRaw,
  projectWithPackageApp,
  runCli,
  startCli,
  stopAllClis,
} from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

const project = projectWithPackageApp();
afterAll(() => project.remove());

describe('autodiscovery', () => {
  it('serves a TypeScript app of a project without "type": "module", outside the workspace', async () => {
    // To Node a .ts file there is CommonJS; the runner must still load its ESM syntax.
    const dir = mkdtempSync(join(tmpdir(), 'zrpc-runner-cjs-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{ "name": "cjs-project" }');
      mkdirSync(join(dir, 'node_modules', '@zrpc'), { recursive: true });
      const core = realpathSync(fileURLToPath(new URL('../../core', import.meta.url)));
      symlinkSync(core, join(dir, 'node_modules', '@zrpc', 'core'), 'dir');
      mkdirSync(join(dir, 'app'));
      writeFileSync(
        join(dir, 'app', 'rpcs.ts'),
        "import { rpc } from '@zrpc/core';\n" +
          'export function twice(x: number): number { return 2 * x; }\n' +
          'rpc.register(twice);\n',
      );
      const cli = startCli(['--app', 'app', '127.0.0.1:0'], dir);
      const endpoint = await cli.endpoint();
      expect(cli.stdout).toContain('app "app": 1 method from app/rpcs.ts');
      expect(await callRaw(endpoint, 'twice', [21])).toMatchObject({ name: 'OK', args: [42] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a TypeScript app, a JavaScript app and an rpcs/index.ts app', async () => {
    const cli = startCli([
      '--app',
      'ts-app',
      '--app',
      'js-app',
      '--app',
      'index-app',
      '127.0.0.1:0',
    ]);
    const endpoint = await cli.endpoint();
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoint).not.toBe('tcp://127.0.0.1:0');
    expect(cli.stdout.split('\n')).toEqual([
      'app "ts-app": 3 methods from ts-app/rpcs.ts',
      'app "js-app": 1 method from js-app/rpcs.js',
      'app "index-app": 1 method from index-app/rpcs/index.ts',
      'Serving 5 methods:',
      '  greet(name, punctuation="!")',
      '  slowEcho(value, ms)',
      '  countTo(n) [stream]',
      '  jsAdd(a, b)',
      '  shout(text)',
      `Listening on ${endpoint}`,
      'Quit with CONTROL-C.',
      '',
    ]);

    expect(await callRaw(endpoint, '_zerorpc_name', [])).toMatchObject({
      args: [`zrpc-server@${hostname()}`],
    });
    expect(await callRaw(endpoint, 'greet', ['Ada'])).toMatchObject({
      name: 'OK',
      args: ['Hello, Ada!'],
    });
    expect(await callRaw(endpoint, 'jsAdd', [40, 2])).toMatchObject({ name: 'OK', args: [42] });
    expect(await callRaw(endpoint, 'shout', ['hi'])).toMatchObject({ name: 'OK', args: ['HI!'] });
    expect(await callRaw(endpoint, 'countTo', [3])).toMatchObject({
      name: 'STREAM_DONE',
      items: [1, 2, 3],
    });
  });

  it('serves an app given by package name, resolved from the project directory', async () => {
    const cli = startCli(['--app', '@zrpc-fixtures/pkg-app', '127.0.0.1:0'], project.dir);
    const endpoint = await cli.endpoint();
    expect(cli.stdout).toContain(
      `app "@zrpc-fixtures/pkg-app": 1 method from ${join(APPS, 'pkg-app', 'src', 'rpcs.ts')}\n`,
    );
    expect(await callRaw(endpoint, 'pkgHello', [])).toMatchObject({
      name: 'OK',
      args: ['hello from a package'],
    });
  });

  it('skips an app without rpcs, saying so, and serves the others', async () => {
    const cli = startCli(['--app', 'no-rpcs', '--app', 'js-app', '127.0.0.1:0']);
    const endpoint = await cli.endpoint();
    expect(cli.stdout.split('\n').slice(0, 4)).toEqual([
      'app "no-rpcs": no rpcs module, skipped',
      'app "js-app": 1 method from js-app/rpcs.js',
      'Serving 1 method:',
      '  jsAdd(a, b)',
    ]);
    expect(await callRaw(endpoint, 'jsAdd', ['a', 'b'])).toMatchObject({ args: ['ab'] });
  });

  it('stops with exit 1 on an rpcs that fails to import, showing the app and the real error', async () => {
    const exit = await runCli(['--app', 'js-app', '--app', 'broken', '127.0.0.1:0']);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe('');
    const file = join(APPS, 'broken', 'rpcs.ts');
    const lines = exit.stderr.split('\n');
    expect(lines[0]).toBe(`app "broken": importing ${file} failed`);
    expect(lines[1]).toBe('Error: DATABASE_URL is not set');
    // The stack of the cause, pointing into the app's TypeScript source.
    expect(lines[2]).toBe(`    at readSettings (${file}:9:9)`);
  });

  it('stops with exit 1 on a method registered by two apps, naming both', async () => {
    const exit = await runCli(['--app', 'dup-a', '--app', 'dup-b', '127.0.0.1:0']);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe(
      'method "sharedName" is registered by two apps: "dup-a" and "dup-b"\n',
    );
  });

  it('listens on IPv6 with [::1]:0', async () => {
    const cli = startCli(['--app', 'js-app', '[::1]:0']);
    const endpoint = await cli.endpoint();
    expect(endpoint).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
    expect(await callRaw(endpoint, 'jsAdd', [1, 2])).toMatchObject({ args: [3] });
  });
});

describe('the hello example', () => {
  it('runs from the repository root as its README shows, and answers', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const cli = startCli(['--app', 'examples/hello', '127.0.0.1:0'], root);
    const endpoint = await cli.endpoint();
    expect(cli.stdout).toContain(
      [
        'app "examples/hello": 4 methods from examples/hello/rpcs.ts',
        'Serving 4 methods:',
        '  hello(name="world")',
        '  add(a, b)',
        '  countdown(n) [stream]',
        '  divide(a, b)',
      ].join('\n'),
    );
    expect(await callRaw(endpoint, 'hello', ['Ada'])).toMatchObject({ args: ['Hello, Ada!'] });
    expect(await callRaw(endpoint, 'hello', [])).toMatchObject({ args: ['Hello, world!'] });
    expect(await callRaw(endpoint, 'add', [2, 3])).toMatchObject({ args: [5] });
    expect(await callRaw(endpoint, 'countdown', [3])).toMatchObject({
      name: 'STREAM_DONE',
      items: [3, 2, 1],
    });
    expect(await callRaw(endpoint, 'divide', [1, 0])).toMatchObject({
      name: 'ERR',
      args: ['DivisionByZeroError', 'cannot divide 1 by zero', expect.any(String)],
    });
  });
});
