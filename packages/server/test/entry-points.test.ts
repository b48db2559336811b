/**
 * Entry points by audience: `@zrpc/server` is the Server alone (no
 * TypeScript loader on a compiled production server's path, and the runner
 * loads one only for a TypeScript module), the runner is
 * `@zrpc/server/runner`, the protocol machinery `@zrpc/core/protocol`; and
 * all of them resolve from the packed packages as npm would install them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const serverDir = resolve(here, '..');
const coreDir = resolve(serverDir, '../core');

/**
 * Import `specifier` in a fresh Node process and answer every module URL it
 * loaded: ESM resolutions through a resolve hook, CommonJS through the
 * require cache.
 */
async function modulesLoadedBy(specifier: string, cwd: string, then = ''): Promise<string[]> {
  const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  port.postMessage(resolved.url);
  return resolved;
}`;
  const script = `
import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on('message', (url) => loaded.push(url));
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), {
  data: { port: port2 },
  transferList: [port2],
});
const m = await import(${JSON.stringify(specifier)});
${then}
await new Promise((resolve) => setTimeout(resolve, 50));
port1.close();
const cjs = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify([...loaded, ...cjs]));
`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd });
  return JSON.parse(stdout) as string[];
}

const isTypeScriptLoader = (url: string) => /[/\\](tsx|esbuild|@esbuild)[/\\]/.test(url);

describe('what an import loads', () => {
  test("importing Server from '@zrpc/server' loads neither tsx nor esbuild", async () => {
    const loaded = await modulesLoadedBy('@zrpc/server', serverDir);
    expect(loaded.some((url) => url.includes('/server/dist/server.js'))).toBe(true);
    expect(loaded.filter(isTypeScriptLoader)).toEqual([]);
  });

  test("prom-client is loaded by '@zrpc/server/metrics' only (the runner loads it for --metrics)", async () => {
    const isPromClient = (url: string) => /[/\\]prom-client[/\\]/.test(url);
    expect((await modulesLoadedBy('@zrpc/server', serverDir)).filter(isPromClient)).toEqual([]);
    expect((await modulesLoadedBy('@zrpc/server/runner', serverDir)).filter(isPromClient)).toEqual(
      [],
    );
    expect((await modulesLoadedBy('@zrpc/server/metrics', serverDir)).some(isPromClient)).toBe(
      true,
    );
  });

  test("'@zrpc/server/runner' loads tsx only for a TypeScript app (the check above can see it)", async () => {
    const apps = JSON.stringify(join(here, 'fixtures/apps'));
    const js = `await m.discoverApps(['js-app'], { cwd: ${apps} });`;
    expect(
      (await modulesLoadedBy('@zrpc/server/runner', serverDir, js)).filter(isTypeScriptLoader),
    ).toEqual([]);
    const ts = `await m.discoverApps(['ts-app'], { cwd: ${apps} });`;
    expect(
      (await modulesLoadedBy('@zrpc/server/runner', serverDir, ts)).some(isTypeScriptLoader),
    ).toBe(true);
  });
});

describe('the entry points from packed packages', () => {
  let project: string;

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'zrpc-packed-'));
    const modules = join(project, 'node_modules');
    for (const [name, dir] of [
      ['core', coreDir],
      ['server', serverDir],
    ] as const) {
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], {
        cwd: dir,
      });
      const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
      const target = join(modules, '@zrpc', name);
      mkdirSync(target, { recursive: true });
      await run('tar', ['-xzf', join(project, filename), '-C', target, '--strip-components=1']);
    }
    // Their dependencies as installed in the workspace, linked where npm would put them.
    for (const dir of [coreDir, serverDir]) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      const names = Object.keys(manifest.dependencies).filter((n) => !n.startsWith('@zrpc/'));
      for (const name of names) {
        const installed = realpathSync(join(dir, 'node_modules', name));
        mkdirSync(dirname(join(modules, name)), { recursive: true });
        symlinkSync(installed, join(modules, name), 'dir');
      }
    }
  }, 120_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test.each([
    ['@zrpc/core', ['compose', 'currentCall', 'rpc', 'RemoteError', 'errorName']],
    ['@zrpc/core/protocol', ['Channel', 'encodeEvent', 'decodeEvent', 'SendQueue', 'OK', 'MORE']],
    ['@zrpc/server', ['Server', 'ServerBusyError']],
    ['@zrpc/server/runner', ['runServer', 'defineConfig', 'discoverApps']],
    ['@zrpc/server/metrics', ['serveAdmin', 'serverMetrics', 'prometheusObserver', 'adminHandler']],
  ])(
    '%s resolves from the packed package and exports what its README says',
    async (specifier, names) => {
      const script = `const m = await import(${JSON.stringify(specifier)});
process.stdout.write(JSON.stringify(Object.keys(m)));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: project,
      });
      expect(JSON.parse(stdout)).toEqual(expect.arrayContaining(names));
    },
  );

  test('what middleware authors import holds no protocol machinery', async () => {
    const script = `const m = await import('@zrpc/core');
process.stdout.write(JSON.stringify(Object.keys(m)));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
    });
    const names = JSON.parse(stdout) as string[];
    for (const machinery of ['Channel', 'ChannelTimer', 'SendQueue', 'encodeEvent', 'runInCall']) {
      expect(names).not.toContain(machinery);
    }
  });
});
