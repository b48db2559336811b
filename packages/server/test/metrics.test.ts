// Prometheus metrics of a Server, read as a scraper reads them: every
// request's end by method and status (refusals included, unknown names
// under one label), lost and cancelled calls, bytes, and the load gauges.
// Real sockets, raw clients.
import { type CallEnd, Registry } from '@zrpc/core';
import { CANCEL } from '@zrpc/core/protocol';
import { Registry as MetricsRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DurationHistogram } from '../src/metrics/durations.js';
import { CALL_DURATION_BUCKETS, serverMetrics } from '../src/metrics.js';
import type { ServerOptions } from '../src/options.js';
import { deferred, RawClient, serverPerTest } from './helpers.js';
import { metricNames, metricValue, parseMetrics, type Sample, sample } from './metrics-helpers.js';

const DURATION = 'rpc_server_call_duration_seconds';
const HEARTBEAT_MS = 200;

function methods() {
  const gate = deferred();
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  registry.register(function fail(): never {
    throw new RangeError('no');
  });
  registry.register(function hold() {
    return gate.promise;
  });
  return { registry, gate };
}

const session = serverPerTest();

async function measured(options: ServerOptions = {}) {
  const { registry, gate } = methods();
  const ends: CallEnd[] = [];
  const started = await session.start({
    registry,
    heartbeatMs: HEARTBEAT_MS,
    assumedPeerHeartbeatMs: HEARTBEAT_MS,
    observers: [(end) => ends.push(end)],
    ...options,
  });
  const metrics = new MetricsRegistry();
  serverMetrics(started.server, { registry: metrics });
  const scrape = async (): Promise<Sample[]> => parseMetrics(await metrics.metrics());
  const until = (n: number) => started.client.until(() => ends.length >= n, 5000, `${n} call ends`);
  return { ...started, metrics, scrape, ends, until, gate };
}

const calls = (samples: Sample[], method: string, status: string) =>
  metricValue(samples, `${DURATION}_count`, { rpc_method: method, rpc_status_code: status });

describe('rpc_server_call_duration_seconds', () => {
  it('counts every call by method and status, with the conventions labels and buckets', async () => {
    const { client, scrape, until } = await measured();
    client.request('add', [1, 2]);
    client.request('add', [3, 4]);
    client.request('fail', []);
    await until(3);

    const samples = await scrape();
    expect(calls(samples, 'add', 'ok')).toBe(2);
    expect(calls(samples, 'fail', 'error')).toBe(1);
    const ok = sample(samples, `${DURATION}_count`, { rpc_method: 'add' })!;
    // error_type only on a call that failed, as the conventions ask.
    expect(ok.labels).toEqual({
      rpc_system_name: 'zerorpc',
      rpc_method: 'add',
      rpc_status_code: 'ok',
    });
    expect(sample(samples, `${DURATION}_count`, { rpc_method: 'fail' })!.labels.error_type).toBe(
      'error',
    );
    const bounds = samples
      .filter((s) => s.name === `${DURATION}_bucket` && s.labels.rpc_method === 'add')
      .map((s) => s.labels.le);
    expect(bounds).toEqual([...CALL_DURATION_BUCKETS.map(String), '+Inf']);
    expect(metricValue(samples, `${DURATION}_sum`, { rpc_method: 'add' })).toBeGreaterThan(0);
  });

  it('counts refused requests under their status; names the server does not serve share one label', async () => {
    const { client, scrape, until, gate } = await measured({ concurrency: 1, queueLimit: 0 });
    for (let i = 0; i < 50; i++) client.request(`no_such_method_${i}`, []);
    client.request('add', [1]); // bad arguments
    client.request('hold', []);
    await until(51);
    client.request('hold', []); // refused: the one slot is taken, no queue
    await until(52);
    gate.resolve();
    await until(53);

    const samples = await scrape();
    expect(calls(samples, '_OTHER', 'unknown_method')).toBe(50);
    expect(calls(samples, 'add', 'bad_arguments')).toBe(1);
    expect(calls(samples, 'hold', 'refused_busy')).toBe(1);
    expect(calls(samples, 'hold', 'ok')).toBe(1);
    const methodLabels = new Set(
      samples.filter((s) => s.name === `${DURATION}_count`).map((s) => s.labels.rpc_method),
    );
    expect([...methodLabels].sort()).toEqual(['_OTHER', 'add', 'hold']);
    expect(
      metricValue(samples, 'zrpc_server_refused_calls_total', { reason: 'unknown_method' }),
    ).toBe(50);
    expect(
      metricValue(samples, 'zrpc_server_refused_calls_total', { reason: 'refused_busy' }),
    ).toBe(1);
    expect(
      metricValue(samples, 'zrpc_server_refused_calls_total', { reason: 'bad_arguments' }),
    ).toBe(1);
  });

  it('keeps the built-in methods by name', async () => {
    const { client, scrape, until } = await measured();
    client.request('_zerorpc_ping', []);
    await until(1);
    expect(calls(await scrape(), '_zerorpc_ping', 'ok')).toBe(1);
  });
});

describe('lost and cancelled calls, bytes', () => {
  it('counts a call whose caller went silent as lost, and one it cancelled as cancelled', async () => {
    const { client, endpoint, scrape, until } = await measured();
    const id = client.request('hold', []);
    client.onChannel(id, CANCEL, ['changed my mind']);
    await until(1);
    // A second client that never heart-beats: lost after two heartbeats.
    const silent = new RawClient(endpoint);
    try {
      silent.request('hold', []);
      await until(2);
    } finally {
      await silent.close();
    }
    const samples = await scrape();
    expect(metricValue(samples, 'zrpc_server_cancelled_calls_total')).toBe(1);
    expect(metricValue(samples, 'zrpc_server_lost_calls_total')).toBe(1);
    expect(calls(samples, 'hold', 'cancelled')).toBe(1);
    expect(calls(samples, 'hold', 'lost')).toBe(1);
  });

  it('adds up the bytes of every call both ways, as the call ends count them', async () => {
    const { client, scrape, ends, until } = await measured();
    client.request('add', [1, 2]);
    client.request('add', ['a'.repeat(1000), 'b']);
    await until(2);
    const first = await scrape();
    const bytesIn = ends.reduce((sum, end) => sum + end.bytesIn, 0);
    const bytesOut = ends.reduce((sum, end) => sum + end.bytesOut, 0);
    expect(bytesIn).toBeGreaterThan(1000);
    expect(metricValue(first, 'zrpc_server_received_bytes_total')).toBe(bytesIn);
    expect(metricValue(first, 'zrpc_server_sent_bytes_total')).toBe(bytesOut);
    // Counters: a later scrape adds the later calls to the same totals.
    client.request('add', [5, 6]);
    await until(3);
    const later = await scrape();
    expect(metricValue(later, 'zrpc_server_received_bytes_total')).toBe(bytesIn + ends[2]!.bytesIn);
  });
});

describe('the load gauges', () => {
  it('calls running and queued, open channels and connected peers, read when scraped', async () => {
    const { client, endpoint, scrape, server, gate, until } = await measured({ concurrency: 1 });
    const other = new RawClient(endpoint);
    try {
      client.request('hold', []);
      other.request('hold', []);
      await client.until(() => server.stats.queued === 1, 5000, 'a queued call');
      const samples = await scrape();
      expect(metricValue(samples, 'zrpc_server_calls_running')).toBe(1);
      expect(metricValue(samples, 'zrpc_server_calls_queued')).toBe(1);
      expect(metricValue(samples, 'zrpc_server_open_channels')).toBe(2);
      expect(metricValue(samples, 'zrpc_server_connected_peers')).toBe(2);
      gate.resolve();
      await until(2);
    } finally {
      await other.close();
    }
    await client.until(() => server.stats.peers === 1, 5000, 'the peer gone');
    const samples = await scrape();
    expect(metricValue(samples, 'zrpc_server_connected_peers')).toBe(1);
    expect(metricValue(samples, 'zrpc_server_calls_running')).toBe(0);
  });

  it('says when the server drains', async () => {
    const { client, scrape, server, gate } = await measured();
    expect(metricValue(await scrape(), 'zrpc_server_draining')).toBe(0);
    client.request('hold', []);
    await client.until(() => server.stats.running === 1, 5000, 'the call running');
    const closed = server.close({ graceMs: 5000 });
    expect(metricValue(await scrape(), 'zrpc_server_draining')).toBe(1);
    gate.resolve();
    await closed;
  });

  it("includes prom-client's process metrics, event-loop delay among them", async () => {
    const { metrics } = await measured();
    const names = metricNames(await metrics.metrics());
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(names).toContain('zrpc_server_send_waiting_bytes');
    expect(names).toContain('zrpc_server_worker_queued_calls');
  });

  it('refuses a second server in the same registry, saying why', async () => {
    const { server, metrics } = await measured();
    expect(() => serverMetrics(server, { registry: metrics })).toThrow(
      /already has a server's metrics/,
    );
  });
});

describe('DurationHistogram', () => {
  it('exports what it counted as a prom-client histogram: cumulative buckets, +Inf, sum, count', async () => {
    const registry = new MetricsRegistry();
    const histogram = new DurationHistogram(registry, {
      name: 'test_seconds',
      help: 'test',
      labelNames: ['kind'],
      buckets: [0.01, 0.1, 1],
    });
    const a = histogram.add({ kind: 'a' });
    histogram.add({ kind: 'never' });
    for (const seconds of [0.001, 0.01, 0.05, 0.5, 20]) histogram.observe(a, seconds);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE test_seconds histogram');
    expect(text.split('\n').filter((line) => line.startsWith('test_seconds'))).toEqual([
      'test_seconds_bucket{le="0.01",kind="a"} 2',
      'test_seconds_bucket{le="0.1",kind="a"} 3',
      'test_seconds_bucket{le="1",kind="a"} 4',
      'test_seconds_bucket{le="+Inf",kind="a"} 5',
      'test_seconds_sum{kind="a"} 20.561',
      'test_seconds_count{kind="a"} 5',
    ]);
    // Scraped again: the same totals, not twice them.
    expect(await registry.metrics()).toBe(text);
  });
});
