import {
  CALL_STATUSES,
  type CallEnd,
  type CallObserver,
  type CallStatus,
  isRefusal,
  type Registry,
  rpc,
} from '@zrpc/core';
import { Counter, type Registry as MetricsRegistry } from 'prom-client';
import { DurationHistogram, type DurationSeries } from './durations.js';
import { methodLabeler } from './method-label.js';

/**
 * The bucket boundaries (seconds) the OpenTelemetry RPC conventions give
 * `rpc.server.call.duration` and `rpc.client.call.duration`.
 */
export const CALL_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** `rpc.system.name` of zerorpc, the system zrpc speaks. */
export const RPC_SYSTEM = 'zerorpc';

export interface PrometheusObserverOptions {
  /**
   * The methods whose names become labels; any other name counts as
   * `_OTHER` (default: the global `rpc` registry). The built-in
   * `_zerorpc_*` methods always keep their names.
   */
  methods?: Pick<Registry, 'get'>;
}

const STATUS_INDEX = new Map<CallStatus, number>(CALL_STATUSES.map((status, i) => [status, i]));

/**
 * An observer that records every call's end, refusals included, in
 * `registry`:
 *
 * - `rpc_server_call_duration_seconds` (histogram): `rpc_system_name`
 *   (`zerorpc`), `rpc_method`, `rpc_status_code` (the call's status, see
 *   `CallStatus`) and `error_type` (the same status, for a call that did not
 *   end `ok`), in the OpenTelemetry conventions' buckets;
 * - `zrpc_server_refused_calls_total` by `reason` (a refusal status);
 * - `zrpc_server_lost_calls_total`, `zrpc_server_cancelled_calls_total`;
 * - `zrpc_server_received_bytes_total`, `zrpc_server_sent_bytes_total`.
 *
 * Give it to a `Server` (`observers`, `server.observe`); `serverMetrics`
 * does that and adds the server's gauges.
 */
export function prometheusObserver(
  registry: MetricsRegistry,
  options: PrometheusObserverOptions = {},
): CallObserver {
  const label = methodLabeler(options.methods ?? rpc);
  const registers = [registry];
  const duration = new DurationHistogram(registry, {
    name: 'rpc_server_call_duration_seconds',
    help: 'Duration of the calls a zrpc server received, from the request to its end, refusals included.',
    labelNames: ['rpc_system_name', 'rpc_method', 'rpc_status_code', 'error_type'],
    buckets: CALL_DURATION_BUCKETS,
  });
  const refused = new Counter({
    name: 'zrpc_server_refused_calls_total',
    help: 'Requests the server turned away before they ran, by reason (the call status).',
    labelNames: ['reason'],
    registers,
  });
  const lost = new Counter({
    name: 'zrpc_server_lost_calls_total',
    help: 'Calls abandoned because their caller went away (heartbeats lapsed, connection dropped).',
    registers,
  });
  const cancelled = new Counter({
    name: 'zrpc_server_cancelled_calls_total',
    help: 'Calls their caller cancelled (it aborted, timed out or left a stream).',
    registers,
  });
  // Bytes are added up in plain numbers and handed to the counters when
  // they are read: two counter updates per call would cost more than the rest.
  const bytes = { in: 0, out: 0 };
  new Counter({
    name: 'zrpc_server_received_bytes_total',
    help: 'Bytes of the events the server received on calls.',
    registers,
    collect() {
      this.inc(bytes.in);
      bytes.in = 0;
    },
  });
  new Counter({
    name: 'zrpc_server_sent_bytes_total',
    help: 'Bytes of the events the server sent on calls.',
    registers,
    collect() {
      this.inc(bytes.out);
      bytes.out = 0;
    },
  });

  // A series per status, by method label: labels resolved once, not per call.
  const byMethod = new Map<string, DurationSeries[]>();
  const durationsOf = (method: string): DurationSeries[] => {
    let durations = byMethod.get(method);
    if (durations === undefined) {
      durations = CALL_STATUSES.map((status) =>
        duration.add({
          rpc_system_name: RPC_SYSTEM,
          rpc_method: method,
          rpc_status_code: status,
          ...(status !== 'ok' && { error_type: status }),
        }),
      );
      byMethod.set(method, durations);
    }
    return durations;
  };

  return (end: CallEnd) => {
    const { status } = end;
    duration.observe(
      durationsOf(label(end.method))[STATUS_INDEX.get(status)!]!,
      end.durationMs / 1000,
    );
    bytes.in += end.bytesIn;
    bytes.out += end.bytesOut;
    if (status === 'ok') return;
    if (status === 'lost') lost.inc();
    else if (status === 'cancelled') cancelled.inc();
    // A call a shutdown cut short ran: it is not a refusal.
    else if (isRefusal(status) && !end.ran) refused.inc({ reason: status });
  };
}
