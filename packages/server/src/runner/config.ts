import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerMiddleware } from '@zrpc/core';
import type { ServerOptions } from '../options.js';
import { parseAddrport } from './addrport.js';
import { RunnerError } from './errors.js';
import { importSource } from './import-source.js';

/** Server options a config may set: the runner brings the registry, middleware has its own key. */
export type RunnerServerOptions = Partial<Omit<ServerOptions, 'registry' | 'middleware'>>;

/** What `zrpc.config.ts` default-exports: the runner's counterpart of Django settings. */
export interface ZrpcConfig {
  /** The apps to serve (INSTALLED_APPS): directories relative to the config file, or package names. */
  apps?: string[];
  /** Server middleware, outermost first. */
  middleware?: ServerMiddleware[];
  /** Options of the `Server` (name, heartbeatMs, tracebacks, concurrency, ...). */
  server?: RunnerServerOptions;
  /** Where to listen, in any form the command's `addrport` takes. */
  address?: string;
}

/** Identity helper that gives a config file its types: `export default defineConfig({...})`. */
export function defineConfig(config: ZrpcConfig): ZrpcConfig {
  return config;
}

/** The config file names looked for in the current directory, in this order. */
export const CONFIG_FILES = [
  'zrpc.config.ts',
  'zrpc.config.mts',
  'zrpc.config.js',
  'zrpc.config.mjs',
] as const;

/** The config file in `dir`, if there is one. */
export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/** Import a config file and check its shape; a wrong shape is an error naming the file. */
export async function loadConfig(file: string): Promise<ZrpcConfig> {
  let module: Record<string, unknown>;
  try {
    module = await importSource(file);
  } catch (err) {
    throw new RunnerError(`config ${file}: importing it failed`, { cause: err });
  }
  const problem = findProblem(module.default);
  if (problem !== undefined) throw new RunnerError(`config ${file}: ${problem}`);
  return module.default as ZrpcConfig;
}

const KEYS = ['apps', 'middleware', 'server', 'address'];

function findProblem(config: unknown): string | undefined {
  if (config === undefined) return 'no default export (export default defineConfig({ ... }))';
  if (!isObject(config)) return 'the default export must be an object';
  const unknown = Object.keys(config).find((key) => !KEYS.includes(key));
  if (unknown !== undefined) return `unknown key "${unknown}" (expected ${KEYS.join(', ')})`;
  const { apps, middleware, server, address } = config;
  if (apps !== undefined && !isArrayOf(apps, (app) => typeof app === 'string' && app !== '')) {
    return '"apps" must be an array of directories or package names';
  }
  if (middleware !== undefined && !isArrayOf(middleware, (fn) => typeof fn === 'function')) {
    return '"middleware" must be an array of functions';
  }
  if (server !== undefined && !isObject(server)) return '"server" must be an object';
  if (address !== undefined) {
    if (typeof address !== 'string') return '"address" must be a string';
    try {
      parseAddrport(address);
    } catch (err) {
      return `"address": ${(err as Error).message}`;
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isArrayOf(value: unknown, check: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && value.every(check);
}
