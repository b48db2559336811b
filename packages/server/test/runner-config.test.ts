import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FILES, findConfigFile, loadConfig } from '../src/runner/config.js';
import { RunnerError } from '../src/runner/errors.js';

const configModule = fileURLToPath(new URL('../src/runner/config.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'zrpc-runner-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A config file with this source, alone in a fresh directory. */
function configFile(source: string, name = 'zrpc.config.mjs'): string {
  const dir = join(root, `case-${count++}`);
  mkdirSync(dir);
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

async function loadError(file: string): Promise<RunnerError> {
  const err = await loadConfig(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunnerError);
  expect((err as RunnerError).exitCode).toBe(1);
  return err as RunnerError;
}

describe('findConfigFile', () => {
  it('finds nothing in a directory without a config', () => {
    expect(findConfigFile(root)).toBeUndefined();
  });

  it('prefers zrpc.config.ts, then .mts, .cts, .js, .mjs, .cjs', () => {
    const dir = join(root, 'several');
    mkdirSync(dir);
    for (const name of [...CONFIG_FILES].reverse()) {
      writeFileSync(join(dir, name), 'export default {};');
      expect(findConfigFile(dir)).toBe(join(dir, name));
    }
  });
});

describe('loadConfig', () => {
  it('loads a TypeScript config that uses defineConfig', async () => {
    const file = configFile(
      [
        `import { defineConfig } from ${JSON.stringify(configModule)};`,
        'const apps: string[] = ["a", "@acme/b"];',
        'export default defineConfig({',
        '  apps,',
        "  address: '[::1]:9000',",
        "  server: { name: 'n', heartbeatMs: 1000 },",
        '  middleware: [async (_ctx, next) => next()],',
        '});',
      ].join('\n'),
      'zrpc.config.ts',
    );
    const config = await loadConfig(file);
    expect(config.apps).toEqual(['a', '@acme/b']);
    expect(config.address).toBe('[::1]:9000');
    expect(config.server).toEqual({ name: 'n', heartbeatMs: 1000 });
    expect(config.middleware).toHaveLength(1);
  });

  it.each([
    ['export const apps = [];', 'no default export (export default defineConfig({ ... }))'],
    ['export default ["a"];', 'the default export: expected an object, got an array'],
    [
      'export default { app: ["a"] };',
      'app: unknown key (the config takes apps, middleware, observers, server, address, pull, subscribe, metrics, reload)',
    ],
    [
      'export default { apps: "a" };',
      'apps: expected an array of directories or package names, got "a" (string)',
    ],
    [
      'export default { apps: ["a", ""] };',
      'apps[1]: expected a directory or a package name, not "", got "" (string)',
    ],
    [
      'export default { middleware: [async () => {}, {}] };',
      'middleware[1]: expected a middleware function, got an object',
    ],
    ['export default { server: 5 };', 'server: expected an object, got 5 (number)'],
    [
      'export default { server: { heartbeat: 5 } };',
      'server.heartbeat: unknown key (server takes name, heartbeatMs, assumedPeerHeartbeatMs, tracebacks, concurrency, reservedSlots, queueLimit, maxChannelsPerPeer, logger, socket, sendBudget, workers, blockWarnMs, curve)',
    ],
    [
      'export default { server: { sendBudget: { perPeerBytes: 0 } } };',
      'server.sendBudget.perPeerBytes: expected an integer >= 1, got 0 (number)',
    ],
    [
      'export default { server: { sendBudget: { total: 1 } } };',
      'server.sendBudget.total: unknown key (server.sendBudget takes perPeerBytes, totalBytes)',
    ],
    [
      'export default { server: { heartbeatMs: "5000" } };',
      'server.heartbeatMs: expected a positive number of milliseconds, got "5000" (string)',
    ],
    [
      'export default { server: { heartbeatMs: 0 } };',
      'server.heartbeatMs: expected a positive number of milliseconds (at most 2147483647), got 0 (number)',
    ],
    [
      'export default { server: { concurrency: 1.5 } };',
      'server.concurrency: expected an integer >= 1, got 1.5 (number)',
    ],
    [
      'export default { server: { queueLimit: -1 } };',
      'server.queueLimit: expected an integer >= 0, got -1 (number)',
    ],
    [
      'export default { server: { tracebacks: "no" } };',
      'server.tracebacks: expected true or false, got "no" (string)',
    ],
    [
      'export default { server: { name: "" } };',
      'server.name: expected a non-empty string, got "" (string)',
    ],
    [
      'export default { server: { logger: { info() {} } } };',
      'server.logger: expected a logger: an object with info, warn and error methods (console, a pino logger), got an object',
    ],
    [
      'export default { server: { socket: 5 } };',
      'server.socket: expected an object of zeromq.js socket options, got 5 (number)',
    ],
    [
      'export default { address: 8000 };',
      'address: expected an address string (8000, 0.0.0.0:8000, tcp://...), got 8000 (number)',
    ],
    [
      'export default { address: "abc" };',
      'address: "abc" is not a valid port number or address:port pair.',
    ],
  ])('refuses %s', async (source, problem) => {
    const file = configFile(source);
    expect((await loadError(file)).message).toBe(`config ${file}: ${problem}`);
  });

  it('reports every problem of a config, one line each', async () => {
    const file = configFile(
      'export default { apps: [1], server: { heartbeat: 5, maxChannelsPerPeer: 0 } };',
    );
    expect((await loadError(file)).message.split('\n')).toEqual([
      `config ${file}: apps[0]: expected a directory or a package name, got 1 (number)`,
      `config ${file}: server.maxChannelsPerPeer: expected an integer >= 1, got 0 (number)`,
      `config ${file}: server.heartbeat: unknown key (server takes name, heartbeatMs, assumedPeerHeartbeatMs, tracebacks, concurrency, reservedSlots, queueLimit, maxChannelsPerPeer, logger, socket, sendBudget, workers, blockWarnMs, curve)`,
    ]);
  });

  it('takes every server option a Server takes', async () => {
    const file = configFile(
      [
        'export default { server: {',
        '  name: "n", heartbeatMs: 250, tracebacks: false, concurrency: 1, queueLimit: 0,',
        '  maxChannelsPerPeer: 1, logger: console, socket: { maxMessageSize: 1024 },',
        '  sendBudget: { perPeerBytes: 1024, totalBytes: 4096 },',
        '} };',
      ].join('\n'),
    );
    expect((await loadConfig(file)).server).toMatchObject({
      name: 'n',
      concurrency: 1,
      sendBudget: { perPeerBytes: 1024, totalBytes: 4096 },
    });
  });

  it('reports a config that throws with the real error as cause', async () => {
    const file = configFile('throw new Error("REDIS_URL is missing");');
    const err = await loadError(file);
    expect(err.message).toBe(`config ${file}: importing it failed`);
    expect((err.cause as Error).message).toBe('REDIS_URL is missing');
  });
});
