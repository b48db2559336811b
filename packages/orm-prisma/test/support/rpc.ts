/**
 * A real zrpc server and client on loopback around the methods under test:
 * each test builds its own registry, so methods and middleware never leak
 * between tests.
 */
import { Client } from '@zrpc/client';
import { Registry, type ServerMiddleware } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { quietLogger } from '@zrpc/testkit';

export { rejection } from '@zrpc/testkit';

export interface RpcPair {
  registry: Registry;
  client: Client;
  server: Server;
  close(): Promise<void>;
}

export async function startRpc(
  register: (registry: Registry) => void,
  middleware: ServerMiddleware[],
  options: { heartbeatMs?: number; timeoutMs?: number; registry?: Registry } = {},
): Promise<RpcPair> {
  const registry = options.registry ?? new Registry();
  register(registry);
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const server = new Server({ registry, middleware, heartbeatMs, logger: quietLogger() });
  await server.bind('tcp://127.0.0.1:0');
  const client = new Client({
    endpoints: server.endpoints[0]!,
    heartbeatMs,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return {
    registry,
    client,
    server,
    async close() {
      await client.close();
      await server.close({ graceMs: 1_000 });
    },
  };
}
