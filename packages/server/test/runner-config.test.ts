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

  it('prefers zrpc.config.ts, then .mts, .js, .mjs', () => {
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
    ['export default ["a"];', 'the default export must be an object'],
    [
      'export default { app: ["a"] };',
      'unknown key "app" (expected apps, middleware, server, address)',
    ],
    ['export default { apps: "a" };', '"apps" must be an array of directories or package names'],
    ['export default { apps: [""] };', '"apps" must be an array of directories or package names'],
    ['export default { middleware: [{}] };', '"middleware" must be an array of functions'],
    ['export default { server: 5 };', '"server" must be an object'],
    ['export default { address: 8000 };', '"address" must be a string'],
    [
      'export default { address: "abc" };',
      '"address": "abc" is not a valid port number or address:port pair.',
    ],
  ])('refuses %s', async (source, problem) => {
    const file = configFile(source);
    expect((await loadError(file)).message).toBe(`config ${file}: ${problem}`);
  });

  it('reports a config that throws with the real error as cause', async () => {
    const file = configFile('throw new Error("REDIS_URL is missing");');
    const err = await loadError(file);
    expect(err.message).toBe(`config ${file}: importing it failed`);
    expect((err.cause as Error).message).toBe('REDIS_URL is missing');
  });
});
