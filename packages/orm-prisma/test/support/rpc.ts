/**
 * A real zrpc server and client on loopback around the methods under test:
 * each test builds its own registry, so methods and middleware never leak
 * between tests.
 */
import { Client } from '@zrpc/client';
import { Registry, type ServerMiddleware } from '@zrpc/core';
import { Server } from '@zrpc/server';

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
  const server = new Server({ registry, middleware, heartbeatMs, logger: quiet });
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

const quiet = { info() {}, warn() {}, error() {} };

/** The error a promise rejects with (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, and it succeeded');
}
