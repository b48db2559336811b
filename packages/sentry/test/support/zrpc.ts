import * as Sentry from '@sentry/node';
import { RPCClient } from '@zrpc/client';
import type { EventHeader, Registry, ServerMiddleware } from '@zrpc/core';
import { Server, type ServerOptions } from '@zrpc/server';
import { quietLogger, startServer as startBound } from '@zrpc/testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { sentryClient, sentryServer } from '../../src/index.js';
import { appRegistry } from '../fixtures/app/rpcs.js';
import { SentryEndpoint } from './sentry-endpoint.js';

/** A quiet server of `registry` on a free loopback port. */
export function startServer(
  registry: Registry,
  middleware: ServerMiddleware[],
  options: Omit<ServerOptions, 'registry' | 'middleware'> = {},
): Promise<{ server: Server; endpoint: string }> {
  return startBound(new Server({ registry, middleware, logger: quietLogger(), ...options }));
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

/** Two services with the middleware on both sides, and a client of the first. */
export interface TwoServices {
  sentry: SentryEndpoint;
  endpointA: string;
  endpointB: string;
  /** A client of service A (with `sentryClient`). */
  rpc: RPCClient;
  /** The request headers service B received. */
  headersAtB: EventHeader[];
  /** Services A and B. */
  servers: Server[];
}

/**
 * A client calls server A, whose handler (`relay`) calls server B: three
 * services over real sockets, reporting to a local Sentry endpoint. Set up
 * once per file (Sentry is initialised with `options`), cleared before each
 * test; the fields are there once the file's tests run.
 */
export function twoServicesPerFile(options: Sentry.NodeOptions = {}): TwoServices {
  const services = { headersAtB: [] as EventHeader[], servers: [] as Server[] } as TwoServices;
  beforeAll(async () => {
    services.sentry = await SentryEndpoint.start();
    initSentry(services.sentry, options);
    const recordHeader: ServerMiddleware = async (ctx, next) => {
      services.headersAtB.push(ctx.header);
      await next();
    };
    const b = await startServer(appRegistry(), [sentryServer({ serverName: 'B' }), recordHeader]);
    const a = await startServer(appRegistry([sentryClient({ service: 'B' })]), [
      sentryServer({ serverName: 'A' }),
    ]);
    services.servers.push(a.server, b.server);
    services.endpointA = a.endpoint;
    services.endpointB = b.endpoint;
    services.rpc = new RPCClient({
      endpoints: a.endpoint,
      middleware: [sentryClient({ service: 'A' })],
    });
  });
  beforeEach(async () => {
    await flushed();
    services.sentry.clear();
    services.headersAtB.length = 0;
  });
  afterAll(async () => {
    await services.rpc.close();
    await Promise.all(services.servers.map((server) => server.close({ graceMs: 100 })));
    await Sentry.close(2000);
    await services.sentry.close();
  });
  return services;
}
