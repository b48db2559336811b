import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { onModuleLoad } from './import-source.js';

/*
 * The side of a server that `zrpc-server --reload` started (reload.ts is the
 * other): it tells the reloader which files it loaded, waits for the word
 * to bind (the old server must have left the port), and says where it
 * listens. The two talk over Node's IPC channel.
 */

/** Set in the environment of the servers the reloader starts. */
export const RELOAD_CHILD_ENV = 'ZRPC_RELOAD_CHILD';

/** What a server tells the reloader. */
export type ChildMessage =
  /** Module files it loaded (absolute paths): watched from now on. */
  | { zrpc: 'files'; files: string[] }
  /** Its apps are loaded and its server made: it waits for `bind`. */
  | { zrpc: 'ready'; endpoint: string }
  /** It listens: `requested` is what it was told to bind, `endpoint` what ZeroMQ bound (port 0 resolved). */
  | { zrpc: 'listening'; requested: string; endpoint: string };

/** What the reloader tells a server: bind now, there. */
export type ParentMessage = { zrpc: 'bind'; endpoint: string };

/** Text that names a source file, for the files an error names (a syntax error's file, say). */
const SOURCE_PATH = /(?:file:\/\/)?(\/[^\s:'"()<>[\]]+\.(?:[cm]?[jt]sx?|json))/g;

export interface ReloadChild {
  /** `RunOptions.beforeBind`: reports the files, then waits for where to bind. */
  beforeBind(endpoint: string): Promise<string>;
  /** The server listens at `endpoint` (what ZeroMQ bound). */
  listening(endpoint: string): void;
  /** Starting failed: report the files loaded so far and those the error names. */
  failed(error: unknown): Promise<void>;
}

/** This process's side of the reloader, when the reloader started it (else undefined). */
export function reloadChild(): ReloadChild | undefined {
  const send = process.send?.bind(process);
  if (process.env[RELOAD_CHILD_ENV] !== '1' || send === undefined) return undefined;
  // Not for the processes the apps start.
  delete process.env[RELOAD_CHILD_ENV];
  // Without the reloader (it was killed), nobody would stop this server.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const reported = new Set<string>();
  let pending: string[] = [];
  let flushing: NodeJS.Timeout | undefined;
  const note = (file: string) => {
    if (!isAbsolute(file) || file.includes('/node_modules/') || reported.has(file)) return;
    reported.add(file);
    pending.push(file);
  };
  const flush = (callback?: () => void) => {
    clearTimeout(flushing);
    flushing = undefined;
    // CommonJS modules (a .cts config, apps of a CommonJS package) are here.
    for (const file of Object.keys(createRequire(import.meta.url).cache)) note(file);
    const message: ChildMessage = { zrpc: 'files', files: pending };
    pending = [];
    if (process.connected) send(message, undefined, {}, () => callback?.());
    else callback?.();
  };
  onModuleLoad((url) => {
    if (!url.startsWith('file:')) return;
    note(fileURLToPath(url.replace(/[?#].*$/, '')));
    // A module loaded later (a handler's dynamic import) is reported too.
    flushing ??= setTimeout(() => flush(), 50).unref();
  });
  let requested = '';
  return {
    beforeBind(endpoint) {
      requested = endpoint;
      flush();
      send({ zrpc: 'ready', endpoint } satisfies ChildMessage);
      return new Promise((resolve) => {
        const onMessage = (message: ParentMessage) => {
          if (message?.zrpc !== 'bind') return;
          process.off('message', onMessage);
          resolve(message.endpoint);
        };
        process.on('message', onMessage);
      });
    },
    listening(endpoint) {
      flush();
      send({ zrpc: 'listening', requested, endpoint } satisfies ChildMessage);
    },
    failed(error) {
      for (const [, file] of inspect(error).matchAll(SOURCE_PATH)) note(file!);
      return new Promise((resolve) => flush(resolve));
    },
  };
}
