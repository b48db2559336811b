import { Registry as MetricsRegistry } from 'prom-client';
import { methodLabeler } from '../metrics/method-label.js';
import { serverMetrics } from '../metrics/server-metrics.js';
import type { Server } from '../server.js';
import type { AdminSources } from './routes.js';
import { statusView } from './status-view.js';
import { StatusWindow } from './status-window.js';

export interface AdminOptions {
  /**
   * Where `/metrics` reads from (default: a registry of its own). The
   * server's metrics are added to it (see `serverMetrics`), and
   * prom-client's process metrics unless it has them.
   */
  registry?: MetricsRegistry;
  /** The service's version, shown on the status page. */
  version?: string;
  /** Told why a request failed inside (a metric's collect threw, say); the client only gets a 500. */
  onError?: (error: unknown) => void;
}

/** What the admin routes read, kept on the server's thread: its metrics and status window. */
export interface ServerSources {
  readonly sources: AdminSources;
  readonly registry: MetricsRegistry;
  /** Stop recording calls. */
  close(): void;
}

/** Start recording `server`'s calls for the admin routes: metrics, and the status page's window. */
export function serverSources(server: Server, options: AdminOptions): ServerSources {
  const registry = options.registry ?? new MetricsRegistry();
  const metrics =
    registry.getSingleMetric('rpc_server_call_duration_seconds') === undefined
      ? serverMetrics(server, { registry })
      : undefined;
  const window = new StatusWindow(methodLabeler(server.registry));
  const stopWindow = server.observe(window.observer);
  // Scrapes that arrive together share one rendering.
  let rendering: Promise<string> | undefined;
  return {
    registry,
    sources: {
      async metrics() {
        rendering ??= registry.metrics().finally(() => {
          rendering = undefined;
        });
        return { contentType: registry.contentType, text: await rendering };
      },
      async status() {
        return JSON.stringify(statusView(server, window, options.version));
      },
      health: () => ({ state: server.state, alive: true }),
    },
    close() {
      stopWindow();
      window.close();
      metrics?.stop();
    },
  };
}
