// A wrong endpoint fails fast: until the client's first connection, a call
// waits `connectTimeoutMs` (5 s by default) for a server, not its whole
// timeout. Real sockets on loopback, to a port nobody listens on.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from '@zrpc/server';
import { rejection, until, within } from '@zrpc/testkit';
import { afterEach, expect, test } from 'vitest';
import { Client, NotConnectedError, RPCClient, TimeoutError } from '../src/index.js';
import type * as Provider from './fixtures/provider.js';
import { registry } from './fixtures/provider.js';
import { startServer } from './helpers/server.js';

type Api = typeof Provider;

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** A loopback port that was free a moment ago and that nothing listens on. */
async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function client(options: ConstructorParameters<typeof Client>[0]): Client<Api> {
  const c = new Client<Api>(options);
  closing.push(() => c.close());
  return c;
}

test('nobody listens: NotConnectedError after the default connect timeout, not the 60 s call timeout', async () => {
  const endpoint = `tcp://127.0.0.1:${await unusedPort()}`;
  const c = client({ endpoints: endpoint, timeoutMs: 60_000 });
  // A hang guard well under the call timeout: the error must come from the connect timeout.
  const error = await within(20_000, 'the call to fail', rejection(c.add(1, 2)));
  expect(error).toBeInstanceOf(NotConnectedError);
  expect(error).toBeInstanceOf(TimeoutError);
  expect(error.timeoutMs).toBe(5_000);
  expect(error.message).toBe(
    `timeout after 5s, when calling remote method add: no server connected at ${endpoint}`,
  );
  expect(c.openChannels).toBe(0);
}, 20_000);

test('connectTimeoutMs sets it, for the pool too; the call timeout still wins when shorter', async () => {
  const endpoint = `tcp://127.0.0.1:${await unusedPort()}`;
  const pool = new RPCClient<Api>({
    endpoints: endpoint,
    timeoutMs: 60_000,
    connectTimeoutMs: 300,
  });
  closing.push(() => pool.close());
  const error = await within(10_000, 'the pool call to fail', rejection(pool.add(1, 2)));
  expect(error).toBeInstanceOf(NotConnectedError);
  expect(error.timeoutMs).toBe(300);
  expect(pool.stats.borrowed).toBe(0);

  const shorter = client({ endpoints: endpoint, timeoutMs: 200, connectTimeoutMs: 60_000 });
  const timedOut = await within(10_000, 'the call to fail', rejection(shorter.add(1, 2)));
  expect(timedOut).toBeInstanceOf(NotConnectedError);
  expect(timedOut.timeoutMs).toBe(200);
});

test('a host name that resolves to nothing: NotConnectedError after the connect timeout', async () => {
  const c = client({
    endpoints: 'tcp://nowhere.invalid:4242',
    timeoutMs: 60_000,
    connectTimeoutMs: 300,
    discovery: { resolve: async () => [] },
  });
  const error = await within(10_000, 'the call to fail', rejection(c.add(1, 2)));
  expect(error).toBeInstanceOf(NotConnectedError);
  expect(error.timeoutMs).toBe(300);
  expect(error.message).toContain('no server connected at tcp://nowhere.invalid:4242');
});

test('once connected, a call made while the server restarts waits for it up to its own timeout', async () => {
  const first = await startServer();
  const c = client({ endpoints: first.endpoint, timeoutMs: 20_000, connectTimeoutMs: 100 });
  expect(await c.add(1, 2)).toBe(3);
  await first.server.close({ graceMs: 0 });
  await until(() => !c.healthy, 10_000, 'the client to see the server gone');
  // Made while nothing listens, answered once a server is back on the same port
  // (well after the connect timeout, well within the call's).
  const during = c.add(2, 3);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const second = new Server({ registry, logger: { info() {}, warn() {}, error() {} } });
  closing.push(() => second.close({ graceMs: 0 }));
  await second.bind(first.endpoint);
  expect(await within(15_000, 'the call to be answered', during)).toBe(5);
});

test('a bad connectTimeoutMs is refused when the client is made', () => {
  for (const bad of [0, -1, Number.NaN, 2 ** 31, '5000']) {
    expect(() => new Client({ connectTimeoutMs: bad as number })).toThrow(
      /^connectTimeoutMs must be a positive number of milliseconds/,
    );
    expect(() => new RPCClient({ connectTimeoutMs: bad as number })).toThrow(RangeError);
  }
});

test("the zrpc command keeps its own --connect-timeout, beyond the library's default", async () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const endpoint = `tcp://127.0.0.1:${await unusedPort()}`;
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const args = [cli, '--connect-timeout', '6', endpoint, 'add', '1', '2'];
    const child = execFile(process.execPath, args, { timeout: 20_000 }, (_, __, stderr) =>
      resolve({ code: child.exitCode, stderr }),
    );
  });
  expect(run).toEqual({
    code: 1,
    stderr: `zrpc: no server answers at ${endpoint}: nothing accepted a connection within 6s (--connect-timeout <seconds> waits longer)\n`,
  });
}, 30_000);
