// The runner serving a TypeScript app whose method computes: `--workers`
// sizes the pool, the app's rpcs module runs in the workers without a
// build, and a caller heart-beating as zerorpc clients do gets its answer
// after three heartbeat intervals; the same method on the event loop, the
// control, leaves the caller with LostRemoteError and is named in the log.
import { LostRemoteError } from '@zrpc/core';
import { until } from '@zrpc/testkit';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { RawClient } from './helpers.js';
import { assertBuilt, startCli, stopAllClis } from './runner-helpers.js';
import { callWithHeartbeats } from './workers-helpers.js';

const HEARTBEAT_MS = 200;
const LONG_MS = 3 * HEARTBEAT_MS;

beforeAll(assertBuilt);
afterEach(stopAllClis);

test('a worker method of a TypeScript app completes after three heartbeats; on the loop it is a LostRemoteError', async () => {
  const cli = startCli([
    '127.0.0.1:0',
    '--app',
    'worker-app',
    '--heartbeat',
    '0.2',
    '--workers',
    '1',
  ]);
  const client = new RawClient(await cli.endpoint());
  try {
    const call = (name: string, args: unknown[]) =>
      callWithHeartbeats(client, name, args, HEARTBEAT_MS);
    const reply = await call('crunchOnWorker', [LONG_MS]);
    expect(reply.name).toBe('OK');
    expect(reply.args).toEqual([expect.any(Number)]);
    expect(reply.args).not.toEqual([0]); // not the main thread

    await expect(call('crunchOnLoop', [LONG_MS])).rejects.toBeInstanceOf(LostRemoteError);
    // The banner tells which method runs where.
    await cli.waitForStdout(/^ {2}crunchOnWorker\(ms, unit=1\) \[worker\]$/m);
    await cli.waitForStdout(/^ {2}crunchOnLoop\(ms, unit=1\)$/m);
    await until(() => cli.stderr.includes('crunchOnLoop()'), 5000).catch(() => {});
    expect(cli.stderr).toMatch(
      /zrpc server: crunchOnLoop\(\) held the event loop for \d+ ms \(threshold 20 ms\).*\{ worker: true \}/,
    );
    // Its call has a log line, but no warning: it never held the loop.
    expect(cli.stderr).not.toMatch(/crunchOnWorker\(\) held the event loop/);
  } finally {
    await client.close();
  }
});
