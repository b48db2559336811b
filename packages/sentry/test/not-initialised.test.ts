import * as Sentry from '@sentry/node';
import { Client, type RemoteError } from '@zrpc/client';
import type { EventHeader, ServerMiddleware } from '@zrpc/core';
import type { Server } from '@zrpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentryClient, sentryServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { SentryEndpoint } from './support/sentry-endpoint.js';
import { flushed, initSentry, startServer } from './support/zrpc.js';

// The middleware is registered before Sentry is initialised (a config file
// loaded first, an app that turns Sentry on only in production).

let sentry: SentryEndpoint;
const servers: Server[] = [];
const clients: Client[] = [];
const headers: EventHeader[] = [];

/** A server and a client, with or without the Sentry middleware. */
async function stack(withSentry: boolean): Promise<Client> {
  const record: ServerMiddleware = async (ctx, next) => {
    headers.push(ctx.header);
    await next();
  };
  const { server, endpoint } = await startServer(
    appRegistry(),
    withSentry ? [sentryServer({ serverName: 'billing' }), record] : [record],
  );
  const client = new Client({
    endpoints: endpoint,
    middleware: withSentry ? [sentryClient()] : [],
  });
  servers.push(server);
  clients.push(client);
  return client;
}

/** What a caller gets back from a few calls: values, stream items, errors. */
async function outcomes(client: Client): Promise<unknown[]> {
  const settle = (promise: Promise<unknown>) =>
    promise.then(
      (value) => ['ok', value],
      (error: RemoteError) => ['err', error.name, error.remoteName, error.remoteMessage],
    );
  const items: unknown[] = [];
  for await (const item of client.call('count', 3, 1)) items.push(item);
  return [
    await settle(client.call('add', 2, 3)),
    await settle(client.call('fail', 'bad')),
    await settle(client.call('find', 4)),
    await settle(client.call('missing')),
    items,
  ];
}

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close({ graceMs: 100 })));
  await Sentry.close(2000);
  await sentry.close();
});

describe('before Sentry is initialised', () => {
  it('calls give exactly what they give without the middleware, and no trace is sent', async () => {
    expect(Sentry.isEnabled()).toBe(false);
    const plain = await outcomes(await stack(false));
    headers.length = 0;
    const instrumented = await outcomes(await stack(true));
    expect(instrumented).toEqual(plain);
    expect(plain[0]).toEqual(['ok', 5]);
    expect(plain[1]).toEqual(['err', 'RemoteError', 'ValueError', 'bad']);
    expect(headers.length).toBeGreaterThan(0);
    for (const header of headers) {
      // The protocol's keys only (zrpc_hb: the client's heartbeat interval), nothing of Sentry's.
      expect(Object.keys(header).sort()).toEqual(['message_id', 'v', 'zrpc_hb']);
    }
  });

  it('starts working once Sentry is initialised', async () => {
    const client = await stack(true);
    initSentry(sentry);
    await client.call('fail', 'now seen').catch(() => {});
    await flushed();
    expect(sentry.events()).toHaveLength(1);
    expect(sentry.events()[0].tags['rpc.service']).toBe('billing');
    const ops = sentry.spans().map((s) => s.attributes['sentry.op']?.value);
    expect(ops.sort()).toEqual(['rpc.client', 'rpc.server']);
  });
});
