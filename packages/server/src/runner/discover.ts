import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type MethodSpec, rpc } from '@zrpc/core';
import {
  AppImportError,
  MethodConflictError,
  RunnerError,
  TypeScriptUnavailableError,
} from './errors.js';
import { importDefault } from './import-source.js';

/** The module an app's methods live in, tried in this order inside the app's directory. */
const RPCS_MODULES = [
  'rpcs.ts',
  'rpcs.mts',
  'rpcs.cts',
  'rpcs.js',
  'rpcs.mjs',
  'rpcs.cjs',
  'rpcs/index.ts',
  'rpcs/index.mts',
  'rpcs/index.cts',
  'rpcs/index.js',
  'rpcs/index.mjs',
  'rpcs/index.cjs',
] as const;

/**
 * Where the `rpcs` module is looked for inside an app: its directory, then
 * `src/` (a package run from its sources), then `dist/` (a published,
 * compiled package).
 */
const RPCS_DIRS = ['.', 'src', 'dist'] as const;

/** An app found on disk: `rpcs` is its rpcs module, undefined when it has none. */
export interface LocatedApp {
  /** The app as it was given: a directory or a package name. */
  name: string;
  /** Its directory (symlinks resolved). */
  dir: string;
  rpcs: string | undefined;
}

/** An app after its `rpcs` module ran: the methods it registered, in order. */
export interface DiscoveredApp extends LocatedApp {
  methods: MethodSpec[];
}

export interface DiscoverOptions {
  /** Where relative directories and package names are resolved from (default: the cwd). */
  cwd?: string;
}

/**
 * Find each app and import its `rpcs` module, which registers its methods
 * in the default `rpc` registry of `@zrpc/core`. Apps are imported one at a
 * time, so every method is known to come from exactly one app: a name two
 * apps register is reported naming both. Every app is located before any is
 * imported, so a typo fails before app code runs. An ES module runs once per
 * process: importing an app a second time registers nothing new.
 */
export async function discoverApps(
  apps: readonly string[],
  options: DiscoverOptions = {},
): Promise<DiscoveredApp[]> {
  const cwd = options.cwd ?? process.cwd();
  const located = uniqueByDir(apps.map((name) => locateApp(name, cwd)));

  const loadedBefore = registeredNames();
  const owners = new Map<string, string>();
  const discovered: DiscoveredApp[] = [];
  for (const app of located) {
    if (app.rpcs === undefined) {
      discovered.push({ ...app, methods: [] });
      continue;
    }
    const before = registeredNames();
    try {
      await importDefault(app.rpcs);
    } catch (err) {
      throw explainImportFailure(err, app, app.rpcs, owners, loadedBefore);
    }
    const methods = rpc.list().filter((spec) => !before.has(spec.name));
    for (const spec of methods) owners.set(spec.name, app.name);
    discovered.push({ ...app, methods });
  }
  return discovered;
}

/**
 * Resolve an app: a value naming an existing directory (relative to `cwd`)
 * is a directory app; a value that looks like a path but is not a directory
 * is an error; anything else is a package name, found in `node_modules`
 * from `cwd` upwards like Node finds packages.
 */
export function locateApp(name: string, cwd: string): LocatedApp {
  const asPath = resolve(cwd, name);
  if (isDirectory(asPath)) {
    const dir = realpathSync(asPath);
    return { name, dir, rpcs: findRpcs(dir) };
  }
  if (isAbsolute(name) || name.startsWith('.')) {
    throw new RunnerError(`app "${name}": directory ${asPath} not found`);
  }
  const dir = findPackageDir(name, cwd);
  if (dir === undefined) {
    throw new RunnerError(
      `app "${name}": no directory ${asPath} and no package "${name}" in node_modules from ${cwd} up`,
    );
  }
  return { name, dir, rpcs: findRpcs(dir) };
}

function findRpcs(appDir: string): string | undefined {
  for (const sub of RPCS_DIRS) {
    for (const module of RPCS_MODULES) {
      const file = join(appDir, sub, module);
      if (existsSync(file) && statSync(file).isFile()) return file;
    }
  }
  return undefined;
}

function findPackageDir(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function uniqueByDir(apps: LocatedApp[]): LocatedApp[] {
  const seen = new Set<string>();
  return apps.filter((app) => !seen.has(app.dir) && seen.add(app.dir));
}

function registeredNames(): Set<string> {
  return new Set(rpc.list().map((spec) => spec.name));
}

/** A duplicate registration becomes a conflict naming both apps; anything else an import error. */
function explainImportFailure(
  err: unknown,
  app: LocatedApp,
  file: string,
  owners: ReadonlyMap<string, string>,
  loadedBefore: ReadonlySet<string>,
): RunnerError {
  // It says what is wrong and what to do better than "importing it failed" would.
  if (err instanceof TypeScriptUnavailableError) return err;
  const method = (err as { name?: unknown; method?: unknown } | null)?.method;
  if ((err as Error | null)?.name !== 'DuplicateMethodError' || typeof method !== 'string') {
    return new AppImportError(app.name, file, err);
  }
  if (loadedBefore.has(method)) {
    return new RunnerError(
      `method "${method}" of app "${app.name}" is already registered by code loaded before the apps`,
    );
  }
  return new MethodConflictError(method, [owners.get(method) ?? app.name, app.name]);
}
