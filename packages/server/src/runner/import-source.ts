import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register as registerEsm } from 'tsx/esm/api';

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
 * tsx's loaders are registered once, before the first load, so TypeScript
 * runs on plain Node without a build step. A module Node treats as
 * CommonJS (`.cts`, `.cjs`, or `.ts`/`.js` in a package without
 * `"type": "module"`, which is what `npm init` writes) is loaded with
 * `require`: through `import()`, Node 20 wraps it once more (`{ default:
 * { default: config } }` for compiled `export default`) and cannot
 * `require` an ES module such as `@zrpc/server` from inside it. The rest is
 * loaded with `import()`.
 */
export async function importDefault(file: string): Promise<unknown> {
  enableTypeScript();
  if (isCommonJs(file)) {
    const exports = createRequire(file)(file) as unknown;
    // `export default x` compiled to CommonJS: `exports.default = x`, marked `__esModule`.
    return isEsModuleInterop(exports) ? exports.default : exports;
  }
  const namespace = (await import(pathToFileURL(file).href)) as { default?: unknown };
  return namespace.default;
}

function enableTypeScript(): void {
  if (typescriptEnabled) return;
  registerEsm(loadListener && { onImport: loadListener });
  registerCommonJs();
  typescriptEnabled = true;
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
