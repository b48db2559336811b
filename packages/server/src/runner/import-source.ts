import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TypeScriptUnavailableError } from './errors.js';

let typescriptEnabled = false;
let loadListener: ((url: string) => void) | undefined;

/**
 * Be told the URL of each ES module loaded from now on (through tsx's
 * loader: the config, the apps and what they import). Set before the first
 * `importDefault`; the reloader's servers report them to be watched.
 * (CommonJS modules are in `require.cache`.)
 */
export function onModuleLoad(listener: (url: string) => void): void {
  loadListener = listener;
}

/**
 * Load a user module by path (an app's `rpcs`, the config file) and return
 * what it default-exports, whatever the project's module system.
 *
 * tsx's loaders are registered once, before the first TypeScript module
 * loads, so TypeScript runs on plain Node without a build step. tsx is an
 * optional peer dependency: a compiled deployment has no TypeScript and
 * never loads it, and a `.ts` module without tsx installed is a
 * `TypeScriptUnavailableError` saying what to install. A module Node treats as
 * CommonJS (`.cts`, `.cjs`, or `.ts`/`.js` in a package without
 * `"type": "module"`, which is what `npm init` writes) is loaded with
 * `require`: through `import()`, Node 20 wraps it once more (`{ default:
 * { default: config } }` for compiled `export default`) and cannot
 * `require` an ES module such as `@zrpc/server` from inside it. The rest is
 * loaded with `import()`.
 */
export async function importDefault(file: string): Promise<unknown> {
  // A reloading server loads everything through tsx when it can: its loader reports what to watch.
  if (isTypeScript(file) || loadListener !== undefined) await enableTypeScript(file);
  if (isCommonJs(file)) {
    const exports = createRequire(file)(file) as unknown;
    // `export default x` compiled to CommonJS: `exports.default = x`, marked `__esModule`.
    return isEsModuleInterop(exports) ? exports.default : exports;
  }
  const namespace = (await import(pathToFileURL(file).href)) as { default?: unknown };
  return namespace.default;
}

/** `.ts`, `.mts`, `.cts` (and `.tsx`): what Node cannot load without a TypeScript loader. */
export function isTypeScript(file: string): boolean {
  return /\.[cm]?tsx?$/.test(file);
}

async function enableTypeScript(file: string): Promise<void> {
  if (typescriptEnabled) return;
  let loaders: [typeof import('tsx/esm/api'), typeof import('tsx/cjs/api')];
  try {
    loaders = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  } catch (err) {
    if (!isMissing(err, 'tsx')) throw err;
    if (isTypeScript(file)) throw new TypeScriptUnavailableError(file);
    return; // JavaScript runs without it.
  }
  loaders[0].register(loadListener && { onImport: loadListener });
  loaders[1].register();
  typescriptEnabled = true;
}

/** Whether `err` says that the package `name` is not installed (ESM or CommonJS resolution). */
export function isMissing(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}

/** Whether Node treats `file` as CommonJS: by extension, else by the nearest package.json. */
export function isCommonJs(file: string): boolean {
  const extension = extname(file);
  if (extension === '.cts' || extension === '.cjs') return true;
  if (extension === '.mts' || extension === '.mjs') return false;
  return packageType(dirname(file)) !== 'module';
}

function packageType(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const manifest = readManifest(join(current, 'package.json'));
    if (manifest !== undefined) return manifest.type;
    if (dirname(current) === current) return undefined;
  }
}

function readManifest(file: string): { type?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { type?: string };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isEsModuleInterop(value: unknown): value is { default: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { __esModule?: unknown }).__esModule === true
  );
}
