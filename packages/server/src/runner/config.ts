import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CallObserver, ServerMiddleware } from '@zrpc/core';
import { configProblems, type RunnerServerOptions } from './config-schema.js';
import { RunnerError, TypeScriptUnavailableError } from './errors.js';
import { importDefault } from './import-source.js';

export type { RunnerServerOptions } from './config-schema.js';

/** What `zrpc.config.ts` default-exports: the runner's counterpart of Django settings. */
export interface ZrpcConfig {
  /** The apps to serve (INSTALLED_APPS): directories relative to the config file, or package names. */
  apps?: string[];
  /** Server middleware, outermost first. */
  middleware?: ServerMiddleware[];
  /** Told every request's end, refused ones included (see `CallEnd`). */
  observers?: CallObserver[];
  /** Options of the `Server` (name, heartbeatMs, tracebacks, concurrency, ...). */
  server?: RunnerServerOptions;
  /**
   * Where to listen for calls, in any form the command's `addrport` takes.
   * Left out with `pull` or `subscribe` given, only events are served.
   */
  address?: string;
  /** Where to pull events pushed by zerorpc Pushers (`--pull`): an addrport. */
  pull?: string;
  /** The zerorpc Publishers whose events to run (`--subscribe`): endpoints or addrports. */
  subscribe?: string | string[];
  /**
   * Serve the admin endpoint (/metrics, /healthz, /readyz, /status.json, the
   * status page) over HTTP at `address` (`[host:]port`, host 127.0.0.1
   * unless given), as `--metrics` does. Off unless set.
   */
  metrics?: { address: string };
  /** `zrpc-server --reload` without the flag: for development, refused with NODE_ENV=production. */
  reload?: boolean;
}

/** Identity helper that gives a config file its types: `export default defineConfig({...})`. */
export function defineConfig(config: ZrpcConfig): ZrpcConfig {
  return config;
}

/** The config file names looked for in the current directory, in this order. */
export const CONFIG_FILES = [
  'zrpc.config.ts',
  'zrpc.config.mts',
  'zrpc.config.cts',
  'zrpc.config.js',
  'zrpc.config.mjs',
  'zrpc.config.cjs',
] as const;

/** The config file in `dir`, if there is one. */
export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/**
 * Load a config file, in an ES module or a CommonJS project alike, and check
 * it against the config schema; a config that fails to import, or a wrong
 * key or value, is a `RunnerError` naming the file (and the key).
 */
export async function loadConfig(file: string): Promise<ZrpcConfig> {
  let config: unknown;
  try {
    config = await importDefault(file);
  } catch (err) {
    if (err instanceof TypeScriptUnavailableError) throw err;
    throw new RunnerError(`config ${file}: importing it failed`, { cause: err });
  }
  const problems = configProblems(config);
  if (problems.length > 0) {
    throw new RunnerError(problems.map((problem) => `config ${file}: ${problem}`).join('\n'));
  }
  return config as ZrpcConfig;
}
