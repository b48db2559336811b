import { fileURLToPath } from 'node:url';
import { Client, type RemoteError } from '@zrpc/client';
import { type RunnerProcess, startRunner, until } from '@zrpc/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SentryEndpoint } from './support/sentry-endpoint.js';

// The registration a provider writes: `zrpc-server --config zrpc.config.ts`
// whose config initialises Sentry and adds `sentryServer()` in one line.
// The runner is a real child process; its SDK sends to the local endpoint.

const CONFIG = fileURLToPath(new URL('./fixtures/runner/zrpc.config.ts', import.meta.url));

let sentry: SentryEndpoint;
let runner: RunnerProcess;

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  runner = await startRunner(CONFIG, { env: { SENTRY_DSN: sentry.dsn }, timeoutMs: 20_000 });
});

afterAll(async () => {
  await runner?.stop();
  await sentry.close();
});

it('a server run from zrpc.config.ts reports a failing call to Sentry', async () => {
  const client = new Client({ endpoints: runner.endpoint });
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
