// The runner's programmatic API, in this process: no child process needed
// to see what discoverApps and runServer return.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpc } from '@zrpc/core';
import { describe, expect, it } from 'vitest';
import {
  AppImportError,
  discoverApps,
  MethodConflictError,
  RunnerError,
  runServer,
} from '../src/index.js';
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

  it('refuses, before importing it, an app that would register into another copy of @zrpc/core', async () => {
    const project = mkdtempSync(join(tmpdir(), 'zrpc-runner-other-core-'));
    try {
      const otherCore = join(project, 'node_modules', '@zrpc', 'core');
      mkdirSync(otherCore, { recursive: true });
      writeFileSync(join(otherCore, 'package.json'), '{ "name": "@zrpc/core", "type": "module" }');
      mkdirSync(join(project, 'app'));
      writeFileSync(join(project, 'app', 'rpcs.js'), 'throw new Error("must not be imported");');
      const runnerCore = realpathSync(fileURLToPath(new URL('../../core', import.meta.url)));
      await expect(discoverApps(['app'], { cwd: project })).rejects.toThrow(
        new RunnerError(
          `app "app" imports @zrpc/core from ${realpathSync(otherCore)} but the runner uses ${runnerCore}: ` +
            'the methods it registers would not be served. Install one copy of @zrpc/core ' +
            "(run the zrpc-server installed in the app's project).",
        ),
      );
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
