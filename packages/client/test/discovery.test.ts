import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { FakeClock, nextTurns, until } from '@zrpc/testkit';
import dns2 from 'dns2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client, dnsResolver, type Resolve } from '../src/index.js';

// Two servers on the same port of two loopback addresses, found through one name.
const NAME = 'tickets.zrpc.test';
const HEARTBEAT_MS = 500;
const quiet = { info() {}, warn() {}, error() {} };

interface Api {
  where(ms: number): Promise<string>;
}

function serverAt(address: string): Server {
  const registry = new Registry();
  registry.register(async function where(ms: number) {
    await sleep(ms);
    return address;
  });
  return new Server({ registry, heartbeatMs: HEARTBEAT_MS, logger: quiet });
}

let port: string;
const servers: Server[] = [];

beforeAll(async () => {
  const first = serverAt('127.0.0.1');
  await first.bind('tcp://127.0.0.1:*');
  port = first.endpoints[0]!.split(':').at(-1)!;
  const second = serverAt('127.0.0.2');
  await second.bind(`tcp://127.0.0.2:${port}`);
  servers.push(first, second);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close({ graceMs: 0 })));
});

/**
 * Callers making `where` calls in a loop: which server answered each,
 * and every failure.
 */
function traffic(client: Client<Api>, callers: number) {
  let running = true;
  const answers: string[] = [];
  const failures: unknown[] = [];
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      try {
        answers.push(await client.where(20));
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    answers,
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Spread over both addresses, then one drops out of the answer: traffic moves, nothing fails. */
async function followTheName(client: Client<Api>, dropSecond: () => void): Promise<void> {
  const both = [`tcp://127.0.0.1:${port}`, `tcp://127.0.0.2:${port}`];
  await until(() => client.servers.length === 2, 5000, 'both addresses to be found');
  expect(client.servers.map((server) => server.endpoint).sort()).toEqual(both);
  expect(client.endpoints).toEqual([`tcp://${NAME}:${port}`]);

  const load = traffic(client, 20);
  await until(
    () => load.answers.includes('127.0.0.1') && load.answers.includes('127.0.0.2'),
    5000,
    'both servers to receive calls',
  );
  dropSecond();
  await client.refresh();
  // The second address is drained: its open calls finish, then its socket closes.
  await until(() => client.servers.length === 1, 5000, 'the dropped address to drain');
  expect(client.servers[0]!.endpoint).toBe(both[0]);
  const before = load.answers.length;
  await until(() => load.answers.length > before + 100, 5000, 'more calls');
  await load.stop();
  expect(load.failures).toEqual([]);
  expect(load.answers.slice(before)).not.toContain('127.0.0.2');
}

test('a name with two A records: both servers get calls; when one record goes, traffic moves without a failed call', async () => {
  let addresses = ['127.0.0.1', '127.0.0.2'];
  const queries: string[] = [];
  const dns = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      queries.push(`${question!.name} ${question!.type}`);
      if (question!.name === NAME && question!.type === dns2.Packet.TYPE.A) {
        for (const address of addresses) {
          const record = new dns2.Packet.Resource(
            NAME,
            dns2.Packet.TYPE.A,
            dns2.Packet.CLASS.IN,
            1,
          );
          record.address = address;
          response.answers.push(record);
        }
      }
      send(response);
    },
  });
  const listening = await dns.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const client = new Client<Api>({
    endpoints: `tcp://${NAME}:${port}`,
    heartbeatMs: HEARTBEAT_MS,
    discovery: { resolve: dnsResolver([`127.0.0.1:${listening.udp!.port}`]) },
  });
  try {
    await followTheName(client, () => {
      addresses = ['127.0.0.1'];
    });
    // Both families were asked for.
    expect(queries).toContain(`${NAME} ${dns2.Packet.TYPE.A}`);
    expect(queries).toContain(`${NAME} ${dns2.Packet.TYPE.AAAA}`);
  } finally {
    await client.close();
    await dns.close();
  }
});

test('a resolver function (any registry) is followed the same way', async () => {
  let addresses = ['127.0.0.1', '127.0.0.2'];
  const asked: string[] = [];
  const resolve: Resolve = async (host) => {
    asked.push(host);
    return addresses;
  };
  const client = new Client<Api>({
    endpoints: `tcp://${NAME}:${port}`,
    heartbeatMs: HEARTBEAT_MS,
    discovery: { resolve },
  });
  try {
    await followTheName(client, () => {
      addresses = ['127.0.0.1'];
    });
    expect(new Set(asked)).toEqual(new Set([NAME]));
  } finally {
    await client.close();
  }
});

test('a resolver that fails or finds nothing leaves the servers as they were; calls fail clearly with none', async () => {
  let answer: () => Promise<string[]> = async () => {
    throw new Error('registry down');
  };
  const client = new Client<Api>({
    endpoints: `tcp://${NAME}:${port}`,
    heartbeatMs: HEARTBEAT_MS,
    timeoutMs: 300,
    discovery: { resolve: () => answer() },
  });
  try {
    // Nothing known yet: the call waits for a server until its timeout.
    const error = await client.where(0).catch((e: unknown) => e);
    expect((error as Error).name).toBe('NotConnectedError');
    expect((error as Error).message).toContain(`no server connected at tcp://${NAME}:${port}`);
    // ...or until it is aborted.
    const controller = new AbortController();
    const waiting = client.withOptions({ signal: controller.signal, timeoutMs: 10_000 }).where(0);
    controller.abort(new Error('no longer needed'));
    expect(((await waiting.catch((e: unknown) => e)) as Error).message).toBe('no longer needed');
    answer = async () => ['127.0.0.2'];
    await client.refresh();
    expect(await client.where(0)).toBe('127.0.0.2');
    answer = async () => [];
    await client.refresh();
    answer = async () => {
      throw new Error('registry down again');
    };
    await client.refresh();
    expect(client.servers.map((server) => server.endpoint)).toEqual([`tcp://127.0.0.2:${port}`]);
    expect(await client.where(0)).toBe('127.0.0.2');
  } finally {
    await client.close();
  }
});

test('a call still waiting for a first server fails with ClientClosedError when the client closes', async () => {
  const client = new Client<Api>({
    endpoints: `tcp://${NAME}:${port}`,
    heartbeatMs: HEARTBEAT_MS,
    timeoutMs: 60_000,
    discovery: { resolve: () => new Promise<string[]>(() => {}) }, // never answers
  });
  const waiting = client.where(0).catch((e: unknown) => e);
  await client.close();
  expect(((await waiting) as Error).name).toBe('ClientClosedError');
});

test('names are resolved again every refreshMs, until the client closes', async () => {
  const clock = new FakeClock();
  let asked = 0;
  const client = new Client<Api>({
    endpoints: `tcp://${NAME}:${port}`,
    heartbeatMs: HEARTBEAT_MS,
    clock,
    discovery: {
      refreshMs: 10_000,
      resolve: async () => {
        asked++;
        return ['127.0.0.1'];
      },
    },
  });
  try {
    await until(() => client.servers.length === 1, 5000, 'the first answer');
    expect(asked).toBe(1);
    clock.advance(10_000 - 1);
    expect(asked).toBe(1);
    clock.advance(1);
    expect(asked).toBe(2);
    await nextTurns(); // that refresh is done: the next one resolves again
    clock.advance(10_000);
    expect(asked).toBe(3);
  } finally {
    await client.close();
  }
  clock.advance(60_000);
  expect(asked).toBe(3);
});
