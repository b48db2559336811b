/**
 * An echo server for the metrics rows: `off` (no observer), or `metrics`
 * (`serveAdmin`: the Prometheus observer, the status window and the admin
 * endpoint on a free loopback port). Its CPU time, for the server's cost
 * per call, is `ServerChild.cpuUs()` (see ready.ts).
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
announce(
  server.endpoints[0]!,
  async () => {
    await server.close({ graceMs: 0 });
    await admin?.close();
  },
  admin?.url,
);
