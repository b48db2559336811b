/**
 * Start the pair as real processes, the way they run in production: the
 * tickets provider under `zrpc-server` (from examples/tickets, with its
 * zrpc.config.ts), and this HTTP service. Each resolves once the process
 * prints where it listens; `stop()` sends SIGTERM and resolves to the exit code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export interface Started {
  child: ChildProcess;
  /** The address it printed: `tcp://127.0.0.1:port` or `http://127.0.0.1:port`. */
  address: string;
  /** The provider's: where it publishes its events. */
  events?: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then its exit code (null if a signal ended it). */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** More command-line arguments (the provider's runner: `--verbosity 0`, say). */
  args?: string[];
  /** Called with each line the process prints. */
  onLine?: (line: string) => void;
  /** How long it may take to print its address (ms, default 60 000). */
  timeoutMs?: number;
  /** The provider's config file (default: examples/tickets/zrpc.config.ts). */
  config?: string;
}

/** The tickets provider, on free ports (calls and events). `DATABASE_URL` in `env` picks its database. */
export async function startProvider(options: StartOptions = {}): Promise<Started> {
  const cli = join(dirname(require.resolve('@zrpc/server/package.json')), 'dist/cli.js');
  const config = options.config === undefined ? [] : ['--config', options.config];
  const child = spawn(process.execPath, [cli, ...config, '127.0.0.1:0', ...(options.args ?? [])], {
    cwd: join(here, '../tickets'),
    env: { ...process.env, TICKETS_EVENTS_ADDRESS: '127.0.0.1:0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const provider = await started(child, /Listening on (tcp:\/\/\S+)/, options);
  // Printed before it listens (zrpc.config.ts binds the publisher).
  return {
    ...provider,
    events: /Publishing ticket events on (tcp:\/\/\S+)/.exec(provider.output())?.[1],
  };
}

/** This HTTP service, on a free port, calling the provider at `endpoint` (and hearing its `events`). */
export function startWeb(
  endpoint: string,
  options: StartOptions & { events?: string } = {},
): Promise<Started> {
  const events = options.events === undefined ? {} : { TICKETS_EVENTS: options.events };
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts')], {
    cwd: here,
    env: { ...process.env, TICKETS_ENDPOINT: endpoint, PORT: '0', ...events, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return started(child, /listening on (http:\/\/\S+)/, options);
}

function started(child: ChildProcess, ready: RegExp, options: StartOptions): Promise<Started> {
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const line of chunk.toString().trimEnd().split('\n')) options.onLine?.(line);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`no address printed within ${options.timeoutMs ?? 60_000} ms:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    const check = () => {
      const match = ready.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({ child, address: match[1]!, output: () => output, stop });
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (code ${code}) before it was ready:\n${output}`));
    });
  });
}
