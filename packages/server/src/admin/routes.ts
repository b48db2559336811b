import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerState } from '../server.js';
import { STATUS_PAGE } from './status-page.js';

/** What the routes answer from: the server's metrics, status view and state. */
export interface AdminSources {
  /** The Prometheus text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** `/status.json`'s body. */
  status(): Promise<string>;
  /** The server's state, and whether its event loop answers. */
  health(): { state: ServerState; alive: boolean };
}

/** A request listener for node:http (or Express: unknown paths go to `next`). */
export type AdminListener = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: () => void,
) => void;

const PATHS = new Set(['/', '/metrics', '/healthz', '/readyz', '/status.json']);
const TEXT = 'text/plain; charset=utf-8';
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
 * The admin endpoint's routes: `GET /metrics` (Prometheus text),
 * `/healthz` (200 while the server's event loop answers), `/readyz` (200
 * while the server is serving, 503 before it is bound and from the start of
 * a shutdown on), `/status.json` and `/` (the status page). GET and HEAD
 * only, no request body; a failure inside answers a bare 500 (`onError` is
 * told why). Nothing answered holds arguments, keys or tracebacks.
 */
export function adminRoutes(
  sources: AdminSources,
  onError: (error: unknown) => void,
): AdminListener {
  const route = async (path: string, response: ServerResponse): Promise<void> => {
    switch (path) {
      case '/metrics': {
        const { contentType, text } = await sources.metrics();
        return reply(response, 200, contentType, text);
      }
      case '/healthz': {
        const { alive } = sources.health();
        return reply(
          response,
          alive ? 200 : 503,
          TEXT,
          alive ? 'ok\n' : 'event loop not answering\n',
        );
      }
      case '/readyz': {
        const { state, alive } = sources.health();
        const ready = state === 'serving' && alive;
        return reply(response, ready ? 200 : 503, TEXT, `${alive ? state : 'not answering'}\n`);
      }
      case '/status.json':
        return reply(response, 200, 'application/json', await sources.status());
      default:
        response.setHeader('Content-Security-Policy', PAGE_POLICY);
        return reply(response, 200, 'text/html; charset=utf-8', STATUS_PAGE);
    }
  };

  return (request, response, next) => {
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
}

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
