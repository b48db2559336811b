import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Server } from '../server.js';
import { parseAdminAddress } from './address.js';
import { type AdminListener, adminRoutes } from './routes.js';
import { type AdminOptions, serverSources } from './sources.js';
import type { AdminWorkerData, FromAdminWorker, ToAdminWorker } from './worker.js';

export type { AdminListener } from './routes.js';
export type { AdminOptions } from './sources.js';

export interface ServeAdminOptions extends AdminOptions {
  /** `[host:]port` (`9464`, `0.0.0.0:9464`; host 127.0.0.1 unless given; port 0 picks one). */
  address: string;
}

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

/**
 * The worker's code. The compiled package runs `dist/admin/worker.js` next
 * to this module; run from its TypeScript sources (the package's own
 * tests), it uses the built one, as a worker starts without a TypeScript loader.
 */
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/admin/worker.js' : './worker.js',
  import.meta.url,
);
/** How often the server's state is looked at; it is told to the worker when it changes, and at least every second. */
const STATE_CHECK_MS = 50;
const STATE_REPEAT_MS = 1_000;

/**
 * The admin endpoint's routes (see `adminRoutes`: /metrics, /healthz,
 * /readyz, /status.json, /) as a request listener for an HTTP server of
 * your own, on its thread. Unauthenticated.
 */
export function adminHandler(server: Server, options: AdminOptions = {}): AdminHandler {
  const { sources, registry, close } = serverSources(server, options);
  return { listener: adminRoutes(sources, options.onError ?? (() => {})), registry, close };
}

/**
 * Serve the admin endpoint on `options.address` with node:http, on a
 * worker thread (a flood of requests costs the server's event loop no
 * more than one rendering of /metrics and of /status.json a second),
 * bounded against slow or large requests. It is unauthenticated: bind it
 * to loopback (the default) or a port only the pod's network reaches.
 */
export async function serveAdmin(server: Server, options: ServeAdminOptions): Promise<AdminServer> {
  const { host, port } = parseAdminAddress(options.address);
  const { sources, registry, close } = serverSources(server, options);
  const onError = options.onError ?? (() => {});
  const data: AdminWorkerData = { host, port };
  const worker = new Worker(WORKER, { workerData: data });
  const tell = (message: ToAdminWorker) => worker.postMessage(message);

  let told = { state: server.state, at: Date.now() };
  tell({ health: told.state });
  const watch = setInterval(() => {
    const state = server.state;
    if (state === told.state && Date.now() - told.at < STATE_REPEAT_MS) return;
    told = { state, at: Date.now() };
    tell({ health: state });
  }, STATE_CHECK_MS);
  watch.unref();

  const listening = new Promise<{ address: string; family: string; port: number }>(
    (resolve, reject) => {
      worker.on('message', (message: FromAdminWorker) => {
        if ('listening' in message) resolve(message.listening);
        else if ('failed' in message) reject(new Error(message.failed));
        else if ('error' in message) onError(new Error(message.error));
        else void answer(message.ask, message.what);
      });
      worker.on('error', (error) => {
        reject(error);
        onError(error);
      });
      worker.once('exit', () => reject(new Error('the admin endpoint stopped')));
    },
  );
  const answer = async (id: number, what: 'metrics' | 'status') => {
    try {
      const value =
        what === 'metrics'
          ? await sources.metrics()
          : { contentType: 'application/json', text: await sources.status() };
      tell({ answer: id, ...value });
    } catch (error) {
      onError(error);
      tell({ answer: id, failed: true });
    }
  };

  const stop = async () => {
    clearInterval(watch);
    close();
    if (worker.threadId >= 0) {
      const exited = once(worker, 'exit');
      tell('close');
      await exited;
    }
  };
  let bound: Awaited<typeof listening>;
  try {
    bound = await listening;
  } catch (error) {
    clearInterval(watch);
    close();
    await worker.terminate();
    throw error;
  }
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}/`,
    host: bound.address,
    port: bound.port,
    registry,
    close: stop,
  };
}
