// Client metrics, read as a scraper reads them: call durations by method,
// server and status; an RPCClient's pool (places in use, waiters, acquire
// timeouts) and its servers by state. A real server on loopback.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { until } from '@zrpc/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, Client, RemoteError, RPCClient } from '../src/index.js';
import { CALL_DURATION_BUCKETS, clientMetrics } from '../src/metrics.js';
import { providerPerFile } from './helpers/server.js';

const provider = providerPerFile({});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(registry: Registry): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const line of (await registry.metrics()).split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );

describe('rpc_client_call_duration_seconds', () => {
  it('by method, server address and port, and status; error_type only for failures', async () => {
    const registry = new Registry();
    const metrics = clientMetrics(registry);
    const client = new Client({ endpoints: provider.endpoint, observers: [metrics.observer] });
    try {
      await client.call('add', 1, 2);
      await client.call('add', 3, 4);
      await expect(client.call('fail', 'no')).rejects.toBeInstanceOf(RemoteError);
      await expect(client.call('nope')).rejects.toMatchObject({ remoteName: 'NameError' });
    } finally {
      await client.close();
    }
    const port = new URL(provider.endpoint.replace('tcp:', 'http:')).port;
    const samples = await scrape(registry);
    const counts = find(samples, 'rpc_client_call_duration_seconds_count');
    expect(
      counts.map((s) => s.labels).sort((a, b) => (a.rpc_method! < b.rpc_method! ? -1 : 1)),
    ).toEqual([
      {
        rpc_system_name: 'zerorpc',
        rpc_method: 'add',
        rpc_status_code: 'ok',
        server_address: '127.0.0.1',
        server_port: port,
      },
      {
        rpc_system_name: 'zerorpc',
        rpc_method: 'fail',
        rpc_status_code: 'error',
        error_type: 'error',
        server_address: '127.0.0.1',
        server_port: port,
      },
      {
        rpc_system_name: 'zerorpc',
        rpc_method: 'nope',
        rpc_status_code: 'unknown_method',
        error_type: 'unknown_method',
        server_address: '127.0.0.1',
        server_port: port,
      },
    ]);
    expect(counts.find((s) => s.labels.rpc_method === 'add')!.value).toBe(2);
    const bounds = find(samples, 'rpc_client_call_duration_seconds_bucket', { rpc_method: 'add' });
    expect(bounds.map((s) => s.labels.le)).toEqual([...CALL_DURATION_BUCKETS.map(String), '+Inf']);
  });

  it('keeps method labels bounded: the names listed, others under _OTHER', async () => {
    const registry = new Registry();
    const metrics = clientMetrics(registry, { methods: ['add'] });
    const client = new Client({ endpoints: provider.endpoint, observers: [metrics.observer] });
    try {
      await client.call('add', 1, 2);
      for (let i = 0; i < 20; i++) await client.call(`made_up_${i}`).catch(() => {});
    } finally {
      await client.close();
    }
    const methods = find(await scrape(registry), 'rpc_client_call_duration_seconds_count').map(
      (s) => [s.labels.rpc_method, s.value],
    );
    expect(methods).toEqual([
      ['add', 1],
      ['_OTHER', 20],
    ]);
  });
});

describe('watch: a pool and its servers', () => {
  it('places in use, waiters, acquire timeouts, servers by state', async () => {
    const registry = new Registry();
    const metrics = clientMetrics(registry);
    const pool = new RPCClient({ endpoints: provider.endpoint, max: 2, acquireTimeoutMs: 200 });
    const stop = metrics.watch(pool, { name: 'provider' });
    try {
      const slow = [pool.call('slow', 1000), pool.call('slow', 1000)];
      const waiting = pool.call('add', 1, 2);
      const timedOut = pool.withOptions({ timeoutMs: 30_000 }).call('add', 3, 4);
      const refused = Promise.allSettled([waiting, timedOut]);
      await until(
        () => pool.stats.borrowed === 2 && pool.stats.pending === 2,
        5000,
        'the pool full',
      );
      let samples = await scrape(registry);
      const client = { client: 'provider' };
      expect(find(samples, 'zrpc_client_pool_places_in_use', client)[0]!.value).toBe(2);
      expect(find(samples, 'zrpc_client_pool_places_max', client)[0]!.value).toBe(2);
      expect(find(samples, 'zrpc_client_pool_waiters', client)[0]!.value).toBe(2);
      expect(find(samples, 'zrpc_client_servers', { ...client, state: 'up' })[0]!.value).toBe(1);
      expect(find(samples, 'zrpc_client_servers', { ...client, state: 'ejected' })[0]!.value).toBe(
        0,
      );
      for (const outcome of await refused) {
        expect(outcome).toMatchObject({
          status: 'rejected',
          reason: expect.any(AcquireTimeoutError),
        });
      }
      await Promise.all(slow);
      samples = await scrape(registry);
      expect(find(samples, 'zrpc_client_pool_acquire_timeouts_total', client)[0]!.value).toBe(2);
      expect(find(samples, 'zrpc_client_pool_waiters', client)[0]!.value).toBe(0);
      expect(find(samples, 'zrpc_client_open_calls', client)[0]!.value).toBe(0);
      // The calls that ran were observed through the pool.
      expect(
        find(samples, 'rpc_client_call_duration_seconds_count', { rpc_method: 'slow' })[0]!.value,
      ).toBe(2);
      // A counter keeps its total: a later scrape adds nothing twice.
      samples = await scrape(registry);
      expect(find(samples, 'zrpc_client_pool_acquire_timeouts_total', client)[0]!.value).toBe(2);
    } finally {
      stop();
      await pool.close();
    }
    const samples = await scrape(registry);
    expect(find(samples, 'zrpc_client_pool_places_in_use')).toEqual([]);
  });

  it('counts ejected servers and ejections', async () => {
    const registry = new Registry();
    const metrics = clientMetrics(registry);
    // A port nobody listens on: its connection never comes up, so it is ejected.
    const client = new Client({ endpoints: [provider.endpoint, 'tcp://127.0.0.1:1'] });
    metrics.watch(client);
    try {
      const deadline = Date.now() + 10_000;
      while (!client.servers.some((s) => s.state === 'ejected') && Date.now() < deadline) {
        await client.call('add', 1, 1).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const samples = await scrape(registry);
      const name = `${provider.endpoint},tcp://127.0.0.1:1`;
      expect(
        find(samples, 'zrpc_client_servers', { client: name, state: 'ejected' })[0]!.value,
      ).toBe(1);
      expect(
        find(samples, 'zrpc_client_server_ejections_total', { client: name })[0]!.value,
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });

  it('refuses two clients under one name', () => {
    const metrics = clientMetrics(new Registry());
    const client = new Client({ endpoints: provider.endpoint });
    try {
      metrics.watch(client, { name: 'x' });
      expect(() => metrics.watch(client, { name: 'x' })).toThrow(/watched already/);
    } finally {
      void client.close();
    }
  });
});

describe('the entry point', () => {
  /** Whether importing `specifier` in a fresh process loads prom-client. */
  async function loadsPromClient(specifier: string): Promise<boolean> {
    const script = `import { createRequire } from 'node:module';
await import(${JSON.stringify(specifier)});
const loaded = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(String(loaded.some((file) => /[\\/]prom-client[\\/]/.test(file))));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    return stdout === 'true';
  }

  it("'@zrpc/client' never loads prom-client; '@zrpc/client/metrics' does", async () => {
    expect(await loadsPromClient('@zrpc/client')).toBe(false);
    expect(await loadsPromClient('@zrpc/client/metrics')).toBe(true);
  });
});
