// The runner's programmatic API, in this process: no child process needed
// to see what discoverApps and runServer return.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpc } from '@zrpc/core';
import { describe, expect, it } from 'vitest';
import {
  AppImportError,
  discoverApps,
  MethodConflictError,
  RunnerError,
  runServer,
} from '../src/runner/index.js';
import { APPS, callRaw } from './runner-helpers.js';

describe('runServer', () => {
  it('discovers, serves, logs the banner and hands back the server', async () => {
    const lines: string[] = [];
    const log = {
      info: (line: string) => lines.push(line),
      error: (line: string) => lines.push(line),
    };
    const { server, apps } = await runServer({
      apps: ['js-app', 'no-rpcs'],
      cwd: APPS,
      address: '127.0.0.1:0',
      server: { name: 'in-process' },
      log,
    });
    try {
      expect(apps.map((app) => [app.name, app.methods.map((spec) => spec.name)])).toEqual([
        ['js-app', ['jsAdd']],
        ['no-rpcs', []],
      ]);
      const [endpoint] = server.endpoints;
      expect(lines).toEqual([
        'app "js-app": 1 method from js-app/rpcs.js',
        'app "no-rpcs": no rpcs module, skipped',
        'Serving 1 method:',
        '  jsAdd(a, b)',
        `Listening on ${endpoint}`,
        'Quit with CONTROL-C.',
      ]);
      expect(await callRaw(endpoint!, '_zerorpc_ping', [])).toMatchObject({
        args: [['pong', 'in-process']],
      });
    } finally {
      await server.close();
    }
  });
});

describe('discoverApps', () => {
  it('reports two apps registering one name as a MethodConflictError naming both', async () => {
    const err = await discoverApps(['dup-a', 'dup-b'], { cwd: APPS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MethodConflictError);
    expect(err).toMatchObject({ method: 'sharedName', apps: ['dup-a', 'dup-b'], exitCode: 1 });
  });

  it('reports one app registering a name twice', async () => {
    await expect(discoverApps(['dup-self'], { cwd: APPS })).rejects.toThrow(
      new MethodConflictError('twice', ['dup-self', 'dup-self']),
    );
    expect(new MethodConflictError('twice', ['dup-self', 'dup-self']).message).toBe(
      'method "twice" is registered twice by app "dup-self"',
    );
  });

  it('names a method registered before discovery rather than blaming an app', async () => {
    rpc.register(function shout() {});
    await expect(discoverApps(['index-app'], { cwd: APPS })).rejects.toThrow(
      new RunnerError(
        'method "shout" of app "index-app" is already registered by code loaded before the apps',
      ),
    );
  });

  it('keeps what a failing rpcs threw as the cause of an AppImportError', async () => {
    const err = (await discoverApps(['broken'], { cwd: APPS }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(AppImportError);
    expect(err).toMatchObject({ app: 'broken', file: `${APPS}broken/rpcs.ts` });
    expect((err.cause as Error).message).toBe('DATABASE_URL is not set');
  });

  it('imports an app given twice once', async () => {
    const apps = await discoverApps(['ts-app', './ts-app/'], { cwd: APPS });
    expect(apps.map((app) => app.methods.length)).toEqual([3]);
  });

  // A project outside this workspace: its own node_modules, linked to the
  // packages an app needs (resolution never reaches the workspace from /tmp).
  function project(prefix: string, packageJson: object, links: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson));
    for (const [name, target] of Object.entries(links)) {
      mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
      symlinkSync(target, join(dir, 'node_modules', name), 'dir');
    }
    mkdirSync(join(dir, 'app'));
    return dir;
  }
  const workspaceCore = realpathSync(fileURLToPath(new URL('../../core', import.meta.url)));
  const msgpack = realpathSync(join(workspaceCore, 'node_modules', '@msgpack', 'msgpack'));

  it('serves what an app registers into another copy of @zrpc/core', async () => {
    // A second install of core: a real copy of its files, a distinct module.
    const dir = project(
      'zrpc-runner-other-core-',
      { type: 'module' },
      {
        '@msgpack/msgpack': msgpack,
      },
    );
    try {
      const otherCore = join(dir, 'node_modules', '@zrpc', 'core');
      cpSync(join(workspaceCore, 'dist'), join(otherCore, 'dist'), { recursive: true });
      cpSync(join(workspaceCore, 'package.json'), join(otherCore, 'package.json'));
      writeFileSync(
        join(dir, 'app', 'rpcs.js'),
        "import { rpc } from '@zrpc/core';\nrpc.register(function fromOtherCopy() { return 1; });\n",
      );
      const [app] = await discoverApps(['app'], { cwd: dir });
      expect(app?.methods.map((m) => m.name)).toEqual(['fromOtherCopy']);
      expect(rpc.get('fromOtherCopy')).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
