import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type RemoteError } from '@zrpc/client';
import { until } from '@zrpc/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SentryEndpoint } from './support/sentry-endpoint.js';

// The registration a provider writes: `zrpc-server --config zrpc.config.ts`
// whose config initialises Sentry and adds `sentryServer()` in one line.
// The runner is a real child process; its SDK sends to the local endpoint.

const serverPackage = createRequire(import.meta.url).resolve('@zrpc/server/package.json');
const CLI = join(dirname(serverPackage), 'dist', 'cli.js');
const CONFIG = fileURLToPath(new URL('./fixtures/runner/zrpc.config.ts', import.meta.url));

let sentry: SentryEndpoint;
let runner: ChildProcess;
let endpoint: string;
let stderr = '';

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  const env: NodeJS.ProcessEnv = { ...process.env, SENTRY_DSN: sentry.dsn };
  delete env.NODE_OPTIONS;
  runner = spawn(process.execPath, [CLI, '--config', CONFIG, '127.0.0.1:0'], {
    cwd: dirname(CONFIG),
    env,
    stdio: 'pipe',
  });
  runner.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  endpoint = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`runner did not start: ${stderr}`)), 20_000);
    runner.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const listening = /Listening on (tcp:\/\/\S+)/.exec(stdout);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    runner.once('exit', (code) => reject(new Error(`runner exited with ${code}: ${stderr}`)));
  });
});

afterAll(async () => {
  if (runner.exitCode === null) {
    const exited = new Promise((resolve) => runner.once('exit', resolve));
    runner.kill('SIGTERM');
    await exited;
  }
  await sentry.close();
});

it('a server run from zrpc.config.ts reports a failing call to Sentry', async () => {
  const client = new Client({ endpoints: endpoint });
  try {
    expect(await client.call('add', 20, 22)).toBe(42);
    const error = await client.call('boom').catch((e: unknown) => e as RemoteError);
    expect(error.remoteName).toBe('ValueError');
  } finally {
    await client.close();
  }
  // The runner's SDK sends the event on its own; wait for it (bounded).
  await until(() => sentry.events().length > 0, 10_000, "the runner's event");
  const [event] = sentry.events();
  expect(event?.exception.values.at(-1)).toMatchObject({ type: 'ValueError', value: 'bad thing' });
  expect(event.tags).toMatchObject({ 'rpc.service': 'billing', 'rpc.method': 'boom' });
  expect(sentry.errors).toEqual([]);
});
