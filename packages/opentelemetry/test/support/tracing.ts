import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Client } from '@zrpc/client';
import type { ClientMiddleware, EventHeader, ServerMiddleware } from '@zrpc/core';
import { Server, type ServerOptions } from '@zrpc/server';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { appRegistry } from '../fixtures/app/rpcs.js';
import { type SpanView, view } from './span-view.js';

export { type SpanView, view } from './span-view.js';

/**
 * The OpenTelemetry SDK as an application registers it (the Node tracer
 * provider: async-local-storage context, W3C trace context and baggage
 * propagators), exporting every span to memory as it ends.
 */
export function registerSdk(): { exporter: InMemorySpanExporter; provider: NodeTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  return { exporter, provider };
}

/**
 * `registerSdk()` for a whole test file: registered now, its exporter
 * emptied before each test, unregistered after the file's own `afterAll`
 * hooks (vitest runs those last-registered first).
 */
export function sdkPerFile(): ReturnType<typeof registerSdk> {
  const sdk = registerSdk();
  beforeEach(() => sdk.exporter.reset());
  afterAll(() => unregisterSdk(sdk.provider));
  return sdk;
}

/** Undo `registerSdk`: the API is back to its no-op state. */
export async function unregisterSdk(provider: NodeTracerProvider): Promise<void> {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

const silent = { info() {}, warn() {}, error() {} };

/** A quiet server on a free loopback port. */
export async function startServer(
  options: ServerOptions,
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ logger: silent, ...options });
  await server.bind('tcp://127.0.0.1:*');
  return { server, endpoint: server.endpoints[0]! };
}

/** The servers and clients a test file opens; `close()` them after its tests. */
export class Services {
  private readonly servers: Server[] = [];
  private readonly clients: Client[] = [];

  /** A quiet server on a free loopback port (see `startServer`); answers where it listens. */
  async server(options: ServerOptions): Promise<string> {
    const { server, endpoint } = await startServer(options);
    this.servers.push(server);
    return endpoint;
  }

  /**
   * Two servers chained as services are: A, whose `relay` calls B through a
   * client with `relay` middleware, and B. B is started first.
   */
  async relayPair(
    middleware: RelayPairMiddleware,
  ): Promise<{ endpointA: string; endpointB: string }> {
    const endpointB = await this.server({ registry: appRegistry(), middleware: middleware.b });
    const endpointA = await this.server({
      registry: appRegistry(middleware.relay),
      middleware: middleware.a,
    });
    return { endpointA, endpointB };
  }

  client(endpoint: string, middleware: ClientMiddleware[] = []): Client {
    const client = new Client({ endpoints: endpoint, middleware });
    this.clients.push(client);
    return client;
  }

  /** Clients first, so that no call is left in flight. */
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await Promise.all(this.servers.map((s) => s.close({ graceMs: 100 })));
  }
}

/** The middleware of `Services.relayPair`'s servers and of A's client of B. */
export interface RelayPairMiddleware {
  a: ServerMiddleware[];
  relay: ClientMiddleware[];
  b: ServerMiddleware[];
}

/**
 * `Services.relayPair` for a whole test file: started before its tests,
 * closed after them with the clients made through `client`. Read the
 * endpoints inside tests (they are set once the file's `beforeAll` ran).
 */
export function relayPairPerFile(middleware: RelayPairMiddleware): {
  endpointA: string;
  endpointB: string;
  client(endpoint: string, middleware?: ClientMiddleware[]): Client;
} {
  const services = new Services();
  const pair = {
    endpointA: '',
    endpointB: '',
    client: (endpoint: string, middleware?: ClientMiddleware[]) =>
      services.client(endpoint, middleware),
  };
  beforeAll(async () => {
    Object.assign(pair, await services.relayPair(middleware));
  });
  afterAll(() => services.close());
  return pair;
}

/** A server middleware that keeps each request's header in `headers`. */
export function recordHeaders(headers: EventHeader[]): ServerMiddleware {
  return async (ctx, next) => {
    headers.push(ctx.header);
    await next();
  };
}

/**
 * The spans ended so far whose name is `name`, once there are `count` of
 * them (a server span ends as its reply is sent: the client may have its
 * answer a moment before). Bounded: a hang guard, not a speed bound.
 */
export async function spansNamed(
  exporter: InMemorySpanExporter,
  name: string,
  count = 1,
): Promise<SpanView[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
    if (spans.length >= count || Date.now() > deadline) return spans.map(view);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
