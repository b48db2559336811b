/**
 * An echo server for the metrics rows: `off` (no observer), or `metrics`
 * (`serveAdmin`: the Prometheus observer, the status window and the admin
 * endpoint on a free loopback port). Answers `'cpu'` messages with its CPU
 * time so far (µs), so the parent can tell the server's cost per call.
 */
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { serveAdmin } from '@zrpc/server/metrics';
import { announce } from './ready.js';

const registry = new Registry();
registry.register(function echo(value: unknown) {
  return value;
});

const server = new Server({ registry, name: 'bench-observed' });
await server.bind('tcp://127.0.0.1:*');
const admin =
  process.argv[2] === 'metrics' ? await serveAdmin(server, { address: '127.0.0.1:0' }) : undefined;
process.on('message', (message) => {
  if (message !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.send?.({ cpuMicros: user + system });
});
announce(
  server.endpoints[0]!,
  async () => {
    await server.close({ graceMs: 0 });
    await admin?.close();
  },
  admin?.url,
);
