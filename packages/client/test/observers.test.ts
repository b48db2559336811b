// Each call's end reaches the client's observers once, with its status from
// core's vocabulary: answered calls, remote errors, streams (read to the end
// or left), timeouts, no server, a closed client. Real sockets.
import type { CallEnd, ClientMiddleware } from '@zrpc/core';
import { FakeClock, until } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { Client, RemoteError } from '../src/index.js';
import { providerPerFile, silentServer } from './helpers/server.js';

const provider = providerPerFile({});

function observedClient(options: ConstructorParameters<typeof Client>[0] = {}) {
  const ends: CallEnd[] = [];
  const client = new Client({
    endpoints: provider.endpoint,
    observers: [(end) => ends.push(end)],
    ...options,
  });
  return { client, ends };
}

describe('a CallEnd per call', () => {
  it('an answered call: ok, the server it went to, bytes both ways', async () => {
    const { client, ends } = observedClient();
    try {
      expect(await client.call('add', 1, 2)).toBe(3);
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({
        side: 'client',
        method: 'add',
        peer: provider.endpoint,
        status: 'ok',
        ran: true,
        stream: false,
      });
      expect(ends[0]!.bytesOut).toBeGreaterThan(20);
      expect(ends[0]!.bytesIn).toBeGreaterThan(20);
      expect(ends[0]!.durationMs).toBeGreaterThanOrEqual(0);
    } finally {
      await client.close();
    }
  });

  it('a remote error: error, with the RemoteError; an unknown method: unknown_method, not run', async () => {
    const { client, ends } = observedClient();
    try {
      await expect(client.call('fail', 'no')).rejects.toBeInstanceOf(RemoteError);
      await expect(client.call('nope')).rejects.toMatchObject({ remoteName: 'NameError' });
      expect(ends.map((end) => [end.method, end.status, end.ran])).toEqual([
        ['fail', 'error', true],
        ['nope', 'unknown_method', false],
      ]);
      expect((ends[0]!.error as RemoteError).remoteName).toBe('ValueError');
    } finally {
      await client.close();
    }
  });

  it('a stream: ok once read to its end; cancelled when its consumer leaves it', async () => {
    const { client, ends } = observedClient();
    try {
      const items: number[] = [];
      for await (const n of (await client.call('count', 3)) as AsyncIterable<number>) items.push(n);
      expect(items).toEqual([0, 1, 2]);
      expect(ends).toMatchObject([{ method: 'count', status: 'ok', stream: true }]);
      for await (const n of (await client.call('count', 1000)) as AsyncIterable<number>) {
        if (n === 2) break;
      }
      expect(ends[1]).toMatchObject({ method: 'count', status: 'cancelled', stream: true });
    } finally {
      await client.close();
    }
  });

  it('no answer in time: timed_out; no server at all: timed_out, no peer', async () => {
    const silent = await silentServer();
    const clock = new FakeClock();
    const { client, ends } = observedClient({ endpoints: silent.endpoint, clock });
    const nowhere = observedClient({ endpoints: 'tcp://127.0.0.1:9', timeoutMs: 300, clock });
    try {
      const hang = client.withOptions({ timeoutMs: 300 }).call('hang');
      const unsent = nowhere.client.call('add', 1, 2);
      await until(() => silent.requests.includes('hang'), 5000, 'the request');
      clock.advance(300);
      await expect(hang).rejects.toThrow('timeout after 0.3s');
      await expect(unsent).rejects.toThrow('no server connected');
      expect(ends[0]).toMatchObject({ method: 'hang', status: 'timed_out' });
      expect(nowhere.ends[0]).toMatchObject({ status: 'timed_out', peer: '', ran: false });
    } finally {
      await client.close();
      await nowhere.client.close();
      silent.close();
    }
  });

  it('a closed client: cancelled, for the calls it failed', async () => {
    const { client, ends } = observedClient();
    const pending = client.call('slow', 10_000).catch((error: Error) => error.name);
    await until(() => provider.server.stats.running === 1, 5000, 'the call to run');
    await client.close();
    expect(await pending).toBe('ClientClosedError');
    expect(ends).toMatchObject([{ method: 'slow', status: 'cancelled' }]);
  });

  it('with middleware, the CallEnd carries the context the middleware saw', async () => {
    const tagging: ClientMiddleware = async (ctx, next) => {
      ctx.state.set('tag', 'seen');
      await next();
    };
    const { client, ends } = observedClient({ middleware: [tagging] });
    try {
      await client.call('add', 2, 2);
      expect(ends[0]!.ctx?.state.get('tag')).toBe('seen');
    } finally {
      await client.close();
    }
  });
});
