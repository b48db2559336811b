import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The real `zrpc-server` runner in a child process, listening. */
export interface RunnerProcess {
  /** Where it listens (`tcp://127.0.0.1:<port>`), as its banner says. */
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** What it wrote to stderr so far (for a failing test's message). */
  readonly stderr: string;
  /** SIGTERM it (a graceful shutdown) and wait until it has exited. */
  stop(): Promise<void>;
}

/**
 * Run `zrpc-server --config <config> 127.0.0.1:0` as a provider runs it: a
 * child process of this Node.js (without this process's `NODE_OPTIONS`, so
 * the runner loads TypeScript its own way), in the config's directory, and
 * wait (bounded by `timeoutMs`, a hang guard) for the port it bound.
 *
 * The CLI is the built one of the `@zrpc/server` that the config's own
 * package resolves: the testkit depends on no zrpc package.
 */
export async function startRunner(
  config: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunnerProcess> {
  const server = createRequire(config).resolve('@zrpc/server/package.json');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    [join(dirname(server), 'dist', 'cli.js'), '--config', config, '127.0.0.1:0'],
    {
      cwd: dirname(config),
      env,
      stdio: 'pipe',
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`runner did not start: ${stderr}`)),
      options.timeoutMs ?? 30_000,
    );
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const listening = /Listening on (tcp:\/\/\S+)/.exec(stdout);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runner exited with ${code}: ${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return {
    endpoint,
    child,
    get stderr() {
      return stderr;
    },
    stop,
  };
}
