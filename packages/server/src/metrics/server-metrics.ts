import { collectDefaultMetrics, Gauge, type Registry as MetricsRegistry } from 'prom-client';
import type { Server } from '../server.js';
import type { ServerStats } from '../stats.js';
import { prometheusObserver } from './call-metrics.js';

export interface ServerMetricsOptions {
  /** Where the metrics go: a prom-client `Registry` (yours, or `register`, its global one). */
  registry: MetricsRegistry;
  /**
   * Add prom-client's default process metrics (CPU, memory, event-loop
   * delay as `nodejs_eventloop_lag_*`, ...) unless the registry has them
   * already (default true).
   */
  processMetrics?: boolean;
}

export interface ServerMetrics {
  readonly registry: MetricsRegistry;
  /** Stop recording calls (the metrics stay registered with their last values). */
  stop(): void;
}

/** A gauge read from `server.stats` when the registry is scraped. */
const GAUGES: ReadonlyArray<{ name: string; help: string; read(stats: ServerStats): number }> = [
  {
    name: 'zrpc_server_calls_running',
    help: 'User calls running now.',
    read: (stats) => stats.running,
  },
  {
    name: 'zrpc_server_calls_queued',
    help: 'User calls waiting for a slot now.',
    read: (stats) => stats.queued,
  },
  {
    name: 'zrpc_server_open_channels',
    help: 'Channels open now (calls and streams in flight, built-ins included).',
    read: (stats) => stats.openChannels,
  },
  {
    name: 'zrpc_server_connected_peers',
    help: 'Connections open now (clients connected to the server).',
    read: (stats) => stats.peers,
  },
  {
    name: 'zrpc_server_send_waiting_bytes',
    help: 'Bytes held for sending that ZeroMQ has not taken yet, counted against the send budget.',
    read: (stats) => stats.bytesWaiting,
  },
  {
    name: 'zrpc_server_worker_threads',
    help: 'Threads alive in the worker pool of the methods registered with { worker }.',
    read: (stats) => stats.workers.threads,
  },
  {
    name: 'zrpc_server_worker_queued_calls',
    help: 'Worker calls waiting for a free thread.',
    read: (stats) => stats.workers.queued,
  },
];

/**
 * The metrics of one `Server` in `registry`: every call's end (see
 * `prometheusObserver`: durations by method and status, refusals, lost and
 * cancelled calls, bytes), its load read from `server.stats` when scraped
 * (calls running and queued, open channels, connected peers, bytes waiting
 * to be sent, the worker pool), whether it is draining, and prom-client's
 * process metrics. One server per registry.
 */
export function serverMetrics(server: Server, options: ServerMetricsOptions): ServerMetrics {
  const { registry, processMetrics = true } = options;
  if (registry.getSingleMetric('rpc_server_call_duration_seconds') !== undefined) {
    throw new Error(
      "this registry already has a server's metrics: give each server a registry of its own",
    );
  }
  const stop = server.observe(prometheusObserver(registry, { methods: server.registry }));
  const registers = [registry];
  for (const { name, help, read } of GAUGES) {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(server.stats));
      },
    });
  }
  new Gauge({
    name: 'zrpc_server_draining',
    help: '1 from the start of a shutdown on (new calls refused, calls in flight finishing), else 0.',
    registers,
    collect() {
      const state = server.state;
      this.set(state === 'draining' || state === 'closed' ? 1 : 0);
    },
  });
  if (processMetrics && registry.getSingleMetric('process_cpu_seconds_total') === undefined) {
    collectDefaultMetrics({ register: registry });
  }
  return { registry, stop };
}
