import * as Sentry from '@sentry/node';
import { Client } from '@zrpc/client';
import { decodeEvent, type ZEvent } from '@zrpc/core/protocol';
import type { Server } from '@zrpc/server';
import { loadVectors, recordedEvent, type Scenario } from '@zrpc/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Dealer, Router } from 'zeromq';
import { sentryClient, sentryServer } from '../src/index.js';
import { appRegistry } from './fixtures/app/rpcs.js';
import { attr, SentryEndpoint } from './support/sentry-endpoint.js';
import { flushed, initSentry, startServer } from './support/zrpc.js';

// zerorpc-python peers, met through their recorded traffic: a reference
// client sends no trace, and a reference server must be able to read what
// our client adds to the header (PROTOCOL.md §2: unknown keys are ignored,
// so they must at least be plain msgpack str → str).

let sentry: SentryEndpoint;
let server: Server;
let endpoint: string;
const python = loadVectors('zerorpc-python-server.json');

beforeAll(async () => {
  sentry = await SentryEndpoint.start();
  initSentry(sentry);
  ({ server, endpoint } = await startServer(appRegistry(), [sentryServer({ serverName: 'py' })]));
});

beforeEach(async () => {
  await flushed();
  sentry.clear();
});

afterAll(async () => {
  await server.close({ graceMs: 100 });
  await Sentry.close(2000);
  await sentry.close();
});

function scenario(name: string): Scenario {
  const found = python.scenarios.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
}

/** Send a scenario's recorded request, byte for byte, and read the first reply. */
async function replayRequest(name: string): Promise<{ reply: ZEvent; recorded: ZEvent }> {
  const events = scenario(name).events;
  const request = events.find((e) => e.dir === 'c2s')!;
  const recorded = recordedEvent(events.find((e) => e.dir === 's2c')!) as ZEvent;
  const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
  dealer.connect(endpoint);
  try {
    await dealer.send(request.frames);
    for (;;) {
      const frames = await dealer.receive();
      const reply = decodeEvent(frames.at(-1)!);
      if (reply.name !== '_zpc_hb') return { reply, recorded };
    }
  } finally {
    dealer.close();
  }
}

describe('with zerorpc-python peers', () => {
  it('a reference client (no trace in its header) is answered as the reference server answers, in a new trace', async () => {
    const { reply, recorded } = await replayRequest('add');
    expect([reply.name, reply.args]).toEqual([recorded.name, recorded.args]); // OK [3]
    await flushed();
    const [span] = sentry.spans();
    expect(span).toBeDefined();
    expect(span!.parent_span_id).toBeUndefined();
    expect(attr(span!, 'rpc.method')).toBe('add');
  });

  it("a reference client's failing call is captured, and answered with the reference's ERR", async () => {
    const { reply, recorded } = await replayRequest('raises'); // boom() raises ValueError('bad thing')
    expect(reply.name).toBe('ERR');
    expect((reply.args as string[]).slice(0, 2)).toEqual((recorded.args as string[]).slice(0, 2));
    await flushed();
    const [event] = sentry.events();
    expect(event.exception.values.at(-1)).toMatchObject({ type: 'ValueError', value: 'bad thing' });
    expect(event.tags['rpc.method']).toBe('boom');
  });

  it('our client adds only str keys with str values to the header, beside the reference keys', async () => {
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    const client = new Client({
      endpoints: router.lastEndpoint!,
      timeoutMs: 200,
      middleware: [sentryClient()],
    });
    try {
      const call = client.call('add', 1, 2).catch(() => {});
      const [, , payload] = await router.receive();
      const request = decodeEvent(payload!);
      await call;
      const reference = recordedEvent(scenario('add').events[0]!).header;
      // zrpc_hb is the protocol's (the client's heartbeat interval, an int reference peers ignore).
      expect(request.header.zrpc_hb).toBe(5000);
      const extra = Object.keys(request.header).filter(
        (key) => !(key in reference) && key !== 'zrpc_hb',
      );
      expect(extra.sort()).toEqual(['baggage', 'sentry-trace']);
      for (const key of extra) expect(typeof request.header[key]).toBe('string');
      expect(request.header.v).toBe(3);
      expect(request.header.message_id).toBeInstanceOf(Uint8Array); // bin, as zerorpc-python's
    } finally {
      await client.close();
      router.close();
    }
  });
});
