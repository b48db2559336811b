/*
 * @zrpc/server/metrics: Prometheus metrics of a Server (prom-client), and
 * the admin endpoint the runner serves with `--metrics` (/metrics,
 * /healthz, /readyz, /status.json and the status page). An entry point of
 * its own, so that a server without metrics never loads prom-client.
 */
export type { AdminAddress } from './admin/address.js';
export { DEFAULT_ADMIN_HOST, parseAdminAddress } from './admin/address.js';
export type { AdminListener, AdminSources } from './admin/routes.js';
export type { AdminHandler, AdminServer, ServeAdminOptions } from './admin/serve.js';
export { adminHandler, serveAdmin } from './admin/serve.js';
export type { AdminOptions } from './admin/sources.js';
export type { StatusView } from './admin/status-view.js';
export type { MethodStatus } from './admin/status-window.js';
export type { PrometheusObserverOptions } from './metrics/call-metrics.js';
export { CALL_DURATION_BUCKETS, prometheusObserver, RPC_SYSTEM } from './metrics/call-metrics.js';
export { methodLabeler, OTHER_METHOD } from './metrics/method-label.js';
export type { ServerMetrics, ServerMetricsOptions } from './metrics/server-metrics.js';
export { serverMetrics } from './metrics/server-metrics.js';
