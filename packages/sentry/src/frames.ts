import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Event } from '@sentry/node';

/** The packages whose frames are zrpc's own, not the application's. */
const ZRPC_PACKAGES: ReadonlySet<string> = new Set([
  '@zrpc/core',
  '@zrpc/server',
  '@zrpc/client',
  '@zrpc/sentry',
  '@zrpc/orm-prisma',
]);

/** Directory → whether it lies in a zrpc package; filled as frames are seen. */
const zrpcDirectories = new Map<string, boolean>();

/**
 * An event processor that marks zrpc's own stack frames not in-app, as
 * raven's zerorpc middleware hid zerorpc's frames. Sentry already does this
 * for files under node_modules; this also covers zrpc linked from a
 * workspace or a checkout, where its files have ordinary paths.
 */
export function markZrpcFramesNotInApp(event: Event): Event {
  for (const exception of event.exception?.values ?? []) {
    for (const frame of exception.stacktrace?.frames ?? []) {
      if (frame.in_app !== false && frame.filename && isZrpcFile(frame.filename)) {
        frame.in_app = false;
      }
    }
  }
  return event;
}

function isZrpcFile(filename: string): boolean {
  let path = filename;
  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path);
    } catch {
      return false;
    }
  }
  if (!path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(path)) return false; // node:internal, eval...
  return inZrpcPackage(dirname(path));
}

/** Whether the nearest package.json at or above `dir` names a zrpc package. */
function inZrpcPackage(dir: string): boolean {
  const known = zrpcDirectories.get(dir);
  if (known !== undefined) return known;
  let answer: boolean;
  const name = packageNameAt(dir);
  if (name !== undefined) answer = ZRPC_PACKAGES.has(name);
  else {
    const parent = dirname(dir);
    answer = parent !== dir && inZrpcPackage(parent);
  }
  zrpcDirectories.set(dir, answer);
  return answer;
}

/**
 * The `name` in `dir/package.json`; undefined without one, or for a
 * package.json with no name (such as a `{"type": "module"}` in a build
 * directory), so that the search goes on upwards.
 */
function packageNameAt(dir: string): string | undefined {
  try {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name?: unknown;
    };
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}
