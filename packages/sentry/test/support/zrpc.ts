import * as Sentry from '@sentry/node';
import type { Registry, ServerMiddleware } from '@zrpc/core';
import { Server, type ServerOptions } from '@zrpc/server';
import type { SentryEndpoint } from './sentry-endpoint.js';

const silent = { info() {}, warn() {}, error() {} };

/** A quiet server of `registry` on a free loopback port. */
export async function startServer(
  registry: Registry,
  middleware: ServerMiddleware[],
  options: Omit<ServerOptions, 'registry' | 'middleware'> = {},
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ registry, middleware, logger: silent, ...options });
  await server.bind('tcp://127.0.0.1:*');
  return { server, endpoint: server.endpoints[0]! };
}

/**
 * Start the real SDK against the local endpoint (once per test file: each
 * file runs in its own worker). Default integrations stay on, as in an app.
 */
export function initSentry(endpoint: SentryEndpoint, options: Sentry.NodeOptions = {}): void {
  Sentry.init({ dsn: endpoint.dsn, tracesSampleRate: 1, ...options });
}

/** Everything sent so far has been received (the endpoint answers after reading a body). */
export async function flushed(): Promise<void> {
  if (!(await Sentry.flush(5000))) throw new Error('Sentry.flush timed out');
}
