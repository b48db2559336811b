/*
 * @zrpc/client/metrics: Prometheus metrics of a Client or an RPCClient
 * pool, with prom-client (an optional peer dependency: install it to use
 * this entry point; the rest of @zrpc/client never loads it).
 */
import { CALL_STATUSES, type CallEnd, type CallObserver, type CallStatus } from '@zrpc/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolStats } from './pool.js';
import type { ServerState, ServerStats } from './servers.js';

/** The OpenTelemetry RPC conventions' buckets for `rpc.client.call.duration` (seconds). */
export const CALL_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** The label of a method past the known ones (the conventions' name for it). */
export const OTHER_METHOD = '_OTHER';
/** Without `methods`, this many distinct names keep their own label; later ones share `_OTHER`. */
const DEFAULT_METHOD_LABELS = 200;

export interface ClientMetricsOptions {
  /**
   * The method names to label by name; any other counts as `_OTHER`.
   * Default: the first 200 distinct names called, a bound for code that
   * builds names at run time.
   */
  methods?: readonly string[];
}

/** What `watch` reads: a `Client` or an `RPCClient`. */
export interface Watchable {
  readonly endpoints: readonly string[];
  observe(observer: CallObserver): () => void;
  readonly servers?: ServerStats[];
  readonly stats?: PoolStats;
}

export interface ClientMetrics {
  /** Records every call's end it is told (give it to a client's `observers`). */
  readonly observer: CallObserver;
  /**
   * Record `client`'s calls, and read its servers (and, for an
   * `RPCClient`, its pool) when the registry is scraped, labelled
   * `client="<name>"` (default: its endpoints, comma-separated). Answers
   * the function that stops it.
   */
  watch(client: Watchable, options?: { name?: string }): () => void;
}

const SERVER_STATES: readonly ServerState[] = ['up', 'ejected', 'draining'];
const STATUS_INDEX = new Map<CallStatus, number>(CALL_STATUSES.map((status, i) => [status, i]));

/**
 * The client metrics in `registry`:
 *
 * - `rpc_client_call_duration_seconds` (histogram): `rpc_system_name`
 *   (`zerorpc`), `rpc_method`, `rpc_status_code` (the call's status),
 *   `error_type` (the same, for a call that did not end `ok`),
 *   `server_address` and `server_port` (the server that had the call);
 * - per watched client: `zrpc_client_open_calls`, `zrpc_client_servers` by
 *   `state` (`up`, `ejected`, `draining`), `zrpc_client_server_ejections_total`;
 * - per watched `RPCClient`: `zrpc_client_pool_places_in_use`,
 *   `zrpc_client_pool_places_max`, `zrpc_client_pool_waiters`,
 *   `zrpc_client_pool_acquire_timeouts_total`.
 *
 * One call per registry (several clients share it through `watch`).
 */
export function clientMetrics(
  registry: Registry,
  options: ClientMetricsOptions = {},
): ClientMetrics {
  const registers = [registry];
  const duration = new Histogram({
    name: 'rpc_client_call_duration_seconds',
    help: 'Duration of the calls a zrpc client made, from the call to its end (a wait for a pool place excluded).',
    labelNames: [
      'rpc_system_name',
      'rpc_method',
      'rpc_status_code',
      'error_type',
      'server_address',
      'server_port',
    ],
    buckets: [...CALL_DURATION_BUCKETS],
    registers,
  });
  const label = methodLabel(options.methods);
  // Histogram children by method and server, one per status: labels resolved once.
  const children = new Map<string, ReturnType<typeof duration.labels>[]>();
  const observer: CallObserver = (end: CallEnd) => {
    const method = label(end.method);
    const key = `${method}\n${end.peer}`;
    let byStatus = children.get(key);
    if (byStatus === undefined) {
      const server = serverLabels(end.peer);
      byStatus = CALL_STATUSES.map((status) =>
        duration.labels({
          rpc_system_name: 'zerorpc',
          rpc_method: method,
          rpc_status_code: status,
          ...(status !== 'ok' && { error_type: status }),
          ...server,
        }),
      );
      children.set(key, byStatus);
    }
    byStatus[STATUS_INDEX.get(end.status)!]!.observe(end.durationMs / 1000);
  };

  const watched = new Map<string, Watchable>();
  /** A gauge per watched client, read from it when scraped. */
  const gauge = (name: string, help: string, read: (client: Watchable) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['client'],
      registers,
      collect() {
        for (const [client, target] of watched) {
          const value = read(target);
          if (value !== undefined) this.set({ client }, value);
        }
      },
    });
  const gauges = [
    gauge('zrpc_client_open_calls', 'Calls and streams open now.', (c) =>
      sum(serversOf(c).map((s) => s.openCalls)),
    ),
    gauge(
      'zrpc_client_pool_places_in_use',
      'Places of the RPCClient pool lent now (calls in flight through it).',
      (c) => c.stats?.borrowed,
    ),
    gauge(
      'zrpc_client_pool_places_max',
      'The most places the RPCClient pool lends at once (its max).',
      (c) => c.stats?.max,
    ),
    gauge(
      'zrpc_client_pool_waiters',
      'Calls waiting for a place of the RPCClient pool now.',
      (c) => c.stats?.pending,
    ),
  ];
  const servers = new Gauge({
    name: 'zrpc_client_servers',
    help: 'Servers of the client by state: up (in rotation), ejected (until a ping answers), draining (leaving).',
    labelNames: ['client', 'state'],
    registers,
    collect() {
      for (const [client, target] of watched) {
        const states = serversOf(target).map((s) => s.state);
        for (const state of SERVER_STATES) {
          this.set({ client, state }, states.filter((s) => s === state).length);
        }
      }
    },
  });
  const ejections = totalCounter(
    registry,
    'zrpc_client_server_ejections_total',
    'Times a server was taken out of rotation (its connection dropped, a call lost it, or it shut down).',
    watched,
    (c) => sum(serversOf(c).map((s) => s.ejections)),
  );
  const timeouts = totalCounter(
    registry,
    'zrpc_client_pool_acquire_timeouts_total',
    'Calls that gave up waiting for a place of the RPCClient pool (AcquireTimeoutError).',
    watched,
    (c) => c.stats?.acquireTimeouts,
  );

  return {
    observer,
    watch(client, { name = client.endpoints.join(',') } = {}) {
      if (watched.has(name)) {
        throw new Error(`a client named "${name}" is watched already: give each its own name`);
      }
      watched.set(name, client);
      const stopObserving = client.observe(observer);
      return () => {
        stopObserving();
        watched.delete(name);
        for (const g of gauges) g.remove({ client: name });
        for (const state of SERVER_STATES) servers.remove({ client: name, state });
        ejections.forget(name);
        timeouts.forget(name);
      };
    },
  };
}

function serversOf(client: Watchable): ServerStats[] {
  return client.stats?.servers ?? client.servers ?? [];
}

/**
 * A counter per watched client that follows a running total read when
 * scraped (a counter cannot be set: it is increased by what was added since).
 */
function totalCounter(
  registry: Registry,
  name: string,
  help: string,
  watched: Map<string, Watchable>,
  read: (client: Watchable) => number | undefined,
) {
  const last = new Map<string, number>();
  const counter = new Counter({
    name,
    help,
    labelNames: ['client'],
    registers: [registry],
    collect() {
      for (const [client, target] of watched) {
        const total = read(target);
        if (total === undefined) continue;
        const added = total - (last.get(client) ?? 0);
        last.set(client, total);
        this.inc({ client }, Math.max(0, added));
      }
    },
  });
  return {
    forget(client: string) {
      last.delete(client);
      counter.remove({ client });
    },
  };
}

/** Method names as labels: the listed ones, or the first N distinct ones; others `_OTHER`. */
function methodLabel(methods: readonly string[] | undefined): (method: string) => string {
  const known = new Set(methods);
  const open = methods === undefined;
  return (method) => {
    if (known.has(method)) return method;
    if (!open || known.size >= DEFAULT_METHOD_LABELS) return OTHER_METHOD;
    known.add(method);
    return method;
  };
}

/** `server_address` and `server_port` of an endpoint (`tcp://host:port`, `ipc://path`); none for `''`. */
function serverLabels(endpoint: string): { server_address?: string; server_port?: string } {
  const tcp = /^tcp:\/\/(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(endpoint);
  if (tcp !== null) return { server_address: tcp[1] ?? tcp[2]!, server_port: tcp[3]! };
  const other = /^[a-z]+:\/\/(.+)$/.exec(endpoint);
  return other === null ? {} : { server_address: other[1]! };
}

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
