import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a server child tells its parent once it listens (`admin`: its admin endpoint's URL, if any). */
export interface Ready {
  endpoint: string;
  admin?: string;
}

/** How long a child may take to start (tsx compiles it first). */
const START_TIMEOUT_MS = 30_000;

const children = new Set<ChildProcess>();

/** A server child, once it listens. */
export interface ServerChild {
  endpoint: string;
  admin?: string;
  pid: number;
  /** Its process, for benches that talk to it over IPC. */
  child: ChildProcess;
  /** The child's CPU time so far (user + system, all its threads), in µs, as it measures it. */
  cpuUs(): Promise<number>;
}

/**
 * Where the zrpc server children write their log (stderr): a file, as a
 * service manager would give them, not the bench's terminal.
 */
export const LOG_DIR = join(tmpdir(), 'zrpc-bench-logs');
let logs = 0;

/** The stderr of a child: a new log file for the zrpc servers, else the bench's own. */
function stderrOf(name: string): number | 'inherit' {
  if (name !== 'zrpc') return 'inherit';
  mkdirSync(LOG_DIR, { recursive: true });
  return openSync(join(LOG_DIR, `zrpc-${process.pid}-${logs++}.log`), 'w');
}

/**
 * Start `servers/<name>.ts` in a child process and resolve once it listens.
 * Every child is killed when this process exits, however it exits.
 */
export function startServer(
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerChild> {
  const file = fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url));
  const stderr = stderrOf(name);
  // The child inherits this process's node flags: `--import tsx` to run
  // TypeScript, and `--cpu-prof` too when the bench is being profiled.
  const child = fork(file, args, {
    stdio: ['ignore', 'inherit', stderr, 'ipc'],
    env: { ...process.env, ...env },
  });
  if (typeof stderr === 'number') closeSync(stderr);
  children.add(child);
  child.once('exit', () => children.delete(child));
  const cpuUs = () =>
    new Promise<number>((resolve) => {
      child.once('message', (message: { cpuUs: number }) => resolve(message.cpuUs));
      child.send('cpu');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} server did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('message', (message: Ready) => {
      clearTimeout(timer);
      resolve({ endpoint: message.endpoint, admin: message.admin, pid: child.pid!, child, cpuUs });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited before it was ready (${signal ?? code})`));
    });
  });
}

/** How long a child may take to close its sockets before it is killed. */
const STOP_TIMEOUT_MS = 5000;

/** Stop every child and wait for them to be gone. */
export async function stopServers(): Promise<void> {
  const exits = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of children) child.kill('SIGTERM');
  const stubborn = setTimeout(killAll, STOP_TIMEOUT_MS);
  await Promise.all(exits);
  clearTimeout(stubborn);
}

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

// A crash, an uncaught error or Ctrl-C must not leave servers behind. The
// children also exit by themselves when this process's IPC channel goes
// away (see servers/ready.ts), which covers a SIGKILL of this process.
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + constants.signals[signal]);
  });
}
