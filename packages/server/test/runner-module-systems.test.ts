// Configs and apps load in ES module and CommonJS projects alike: a fresh
// project per package type (what `npm init -y` writes, and "module"), each
// config flavour with an app of the same flavour, run by the real
// `zrpc-server` in a child process and called over ZeroMQ.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, callRaw, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'zrpc-module-systems-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type PackageType = 'commonjs' | 'module';
type Flavour = 'ts' | 'mts' | 'cts' | 'js' | 'mjs' | 'cjs';

/** Whether Node runs a file of this flavour as CommonJS in a package of this type. */
function isCommonJs(flavour: Flavour, type: PackageType): boolean {
  if (flavour === 'cjs' || flavour === 'cts') return true;
  if (flavour === 'mjs' || flavour === 'mts') return false;
  return type === 'commonjs';
}

/** The config and the app as a user writes them in that flavour. */
function sources(flavour: Flavour, type: PackageType): { config: string; app: string } {
  const typescript = flavour.endsWith('ts');
  if (isCommonJs(flavour, type) && !typescript) {
    return {
      config: [
        "const { defineConfig } = require('@zrpc/server/runner');",
        'module.exports = defineConfig({',
        "  apps: ['./app'],",
        "  address: '127.0.0.1:0',",
        `  server: { name: '${type}-${flavour}' },`,
        `  middleware: [async (ctx, next) => { ctx.replyHeader.flavour = '${flavour}'; await next(); }],`,
        '});',
      ].join('\n'),
      app: [
        "const { currentCall, rpc } = require('@zrpc/core');",
        'function whoami() { return currentCall()?.method; }',
        'rpc.register(whoami);',
        'module.exports = { whoami };',
      ].join('\n'),
    };
  }
  const annotation = typescript ? ': ServerMiddleware' : '';
  return {
    config: [
      "import { defineConfig } from '@zrpc/server/runner';",
      typescript ? "import type { ServerMiddleware } from '@zrpc/core';" : '',
      `const mark${annotation} = async (ctx, next) => {`,
      `  ctx.replyHeader.flavour = '${flavour}';`,
      '  await next();',
      '};',
      'export default defineConfig({',
      "  apps: ['./app'],",
      "  address: '127.0.0.1:0',",
      `  server: { name: '${type}-${flavour}' },`,
      '  middleware: [mark],',
      '});',
    ].join('\n'),
    app: [
      "import { currentCall, rpc } from '@zrpc/core';",
      `export function whoami()${typescript ? ': string | undefined' : ''} {`,
      '  return currentCall()?.method;',
      '}',
      'rpc.register(whoami);',
    ].join('\n'),
  };
}

/** A project of this package type with @zrpc/server and @zrpc/core installed (linked). */
function project(type: PackageType, flavour: Flavour): string {
  const dir = join(root, `${type}-${flavour}`);
  mkdirSync(join(dir, 'app'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@zrpc'), { recursive: true });
  for (const name of ['server', 'core']) {
    symlinkSync(join(PACKAGES, name), join(dir, 'node_modules', '@zrpc', name), 'dir');
  }
  const manifest = { name: `project-${type}-${flavour}`, version: '1.0.0', type };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  const { config, app } = sources(flavour, type);
  writeFileSync(join(dir, `zrpc.config.${flavour}`), config);
  writeFileSync(join(dir, 'app', `rpcs.${flavour}`), app);
  return dir;
}

const FLAVOURS: Flavour[] = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'];

describe.each(['commonjs', 'module'] as const)('a "type": "%s" project', (type) => {
  it.each(FLAVOURS)('loads zrpc.config.%s and an app of the same flavour', async (flavour) => {
    const cli = startCli([], project(type, flavour));
    const endpoint = await cli.endpoint();
    expect(cli.stdout).toContain(`app "./app": 1 method from app/rpcs.${flavour}`);
    expect(await callRaw(endpoint, '_zerorpc_name', [])).toMatchObject({
      args: [`${type}-${flavour}`],
    });
    // The app's @zrpc/core is the server's: the call context reaches it.
    const reply = await callRaw(endpoint, 'whoami', []);
    expect(reply).toMatchObject({ name: 'OK', args: ['whoami'] });
    expect(reply.header.flavour).toBe(flavour);
    // The log (stderr, JSON lines): the start line and the call's line, no warning nor error.
    await cli.waitForStderr(/"msg":"\w+-\w+ serving 1 method on tcp:/);
    await cli.waitForStderr(/"method":"whoami"/);
    expect(cli.stderr).not.toMatch(/"level":(40|50|60)/);
  });
});
