import { Server, type ServerOptions } from '@zrpc/server';
import { registry } from '../fixtures/provider.js';

/** A quiet in-process `@zrpc/server` for the provider fixture, bound to a free port. */
export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ registry, name: 'provider', logger: silent, ...options });
  await server.bind('tcp://127.0.0.1:*');
  return { server, endpoint: server.endpoints[0]! };
}

const silent = { info() {}, warn() {}, error() {} };
