import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry as MetricsRegistry } from 'prom-client';
import { methodLabeler } from '../metrics/method-label.js';
import { serverMetrics } from '../metrics/server-metrics.js';
import type { Server } from '../server.js';
import { parseAdminAddress } from './address.js';
import { STATUS_PAGE } from './status-page.js';
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

export interface ServeAdminOptions extends AdminOptions {
  /** `[host:]port` (`9464`, `0.0.0.0:9464`; host 127.0.0.1 unless given; port 0 picks one). */
  address: string;
}

/** A request listener for node:http (or Express: unknown paths go to `next`). */
export type AdminListener = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: () => void,
) => void;

export interface AdminHandler {
  readonly listener: AdminListener;
  readonly registry: MetricsRegistry;
  /** Stop recording calls. */
  close(): void;
}

export interface AdminServer {
  /** `http://host:port/`, the status page. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly registry: MetricsRegistry;
  /** Stop listening (open connections are closed) and stop recording calls. */
  close(): Promise<void>;
}

const PATHS = new Set(['/', '/metrics', '/healthz', '/readyz', '/status.json']);
/** The page's inline script is allowed by its hash: no other script can run on it. */
const SCRIPT_HASH = createHash('sha256')
  .update(/<script>([\s\S]*)<\/script>/.exec(STATUS_PAGE)![1]!)
  .digest('base64');
const PAGE_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${SCRIPT_HASH}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The admin endpoint's routes, for an HTTP server of your own:
 * `GET /metrics` (Prometheus text), `/healthz` (200 while the process
 * answers), `/readyz` (200 while the server is serving, 503 before it is
 * bound and from the start of a shutdown on), `/status.json` and `/` (the
 * status page). GET and HEAD only; no request body. Unauthenticated.
 */
export function adminHandler(server: Server, options: AdminOptions = {}): AdminHandler {
  const registry = options.registry ?? new MetricsRegistry();
  const metrics =
    registry.getSingleMetric('rpc_server_call_duration_seconds') === undefined
      ? serverMetrics(server, { registry })
      : undefined;
  const window = new StatusWindow(methodLabeler(server.registry));
  const stopWindow = server.observe(window.observer);
  const onError = options.onError ?? (() => {});
  // Scrapes that arrive together share one rendering.
  let rendering: Promise<string> | undefined;
  const metricsText = (): Promise<string> => {
    rendering ??= registry.metrics().finally(() => {
      rendering = undefined;
    });
    return rendering;
  };

  const route = async (path: string, response: ServerResponse): Promise<void> => {
    switch (path) {
      case '/metrics':
        return reply(response, 200, registry.contentType, await metricsText());
      case '/healthz':
        return reply(response, 200, TEXT, 'ok\n');
      case '/readyz': {
        const state = server.state;
        return reply(response, state === 'serving' ? 200 : 503, TEXT, `${state}\n`);
      }
      case '/status.json': {
        const view = statusView(server, window, options.version);
        return reply(response, 200, 'application/json', JSON.stringify(view));
      }
      default:
        response.setHeader('Content-Security-Policy', PAGE_POLICY);
        return reply(response, 200, 'text/html; charset=utf-8', STATUS_PAGE);
    }
  };

  const listener: AdminListener = (request, response, next) => {
    const path = pathOf(request.url);
    if (path === undefined || !PATHS.has(path)) {
      if (next !== undefined) return next();
      return reply(response, 404, TEXT, 'not found\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return reply(response, 405, TEXT, 'method not allowed\n');
    }
    if (hasBody(request)) {
      // Not read: the connection goes with it.
      response.setHeader('Connection', 'close');
      return reply(response, 413, TEXT, 'a request body is not accepted\n');
    }
    route(path, response).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) reply(response, 500, TEXT, 'internal error\n');
      else response.destroy();
    });
  };

  return {
    listener,
    registry,
    close() {
      stopWindow();
      metrics?.stop();
    },
  };
}

/**
 * Serve the admin endpoint (see `adminHandler`) on `options.address` with
 * node:http, bounded against slow or large requests. It is
 * unauthenticated: bind it to loopback (the default) or a port only the
 * pod's network reaches.
 */
export async function serveAdmin(server: Server, options: ServeAdminOptions): Promise<AdminServer> {
  const { host, port } = parseAdminAddress(options.address);
  const handler = adminHandler(server, options);
  const http = createServer(
    {
      // A request must arrive whole, headers in 5 s, all of it in 10 s, in 8 KiB of headers.
      headersTimeout: 5_000,
      requestTimeout: 10_000,
      maxHeaderSize: 8 * 1024,
      keepAliveTimeout: 5_000,
      // How often those limits are checked (Node's default: every 30 s).
      connectionsCheckingInterval: 1_000,
    },
    (request, response) => handler.listener(request, response),
  );
  // Scrapers, probes and a few browsers: more connections than this are refused.
  http.maxConnections = 64;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    handler.close();
    throw error;
  }
  const bound = http.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}/`,
    host: bound.address,
    port: bound.port,
    registry: handler.registry,
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

const TEXT = 'text/plain; charset=utf-8';

function reply(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

/** The path of a request target, without its query; undefined if it is not a path. */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith('/')) return undefined;
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}
