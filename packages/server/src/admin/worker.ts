/*
 * The admin endpoint's HTTP server, on a worker thread of its own: parsing
 * and answering requests costs the server's event loop nothing, so a flood
 * on the admin port does not slow the calls. What only the server's thread
 * knows (the Prometheus text, the status view) is asked for over the
 * thread's port, at most once a second each however many requests come;
 * the server's state arrives as it changes, and its regular arrival is what
 * tells the worker that the server's event loop answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { ServerState } from '../server.js';
import { adminRoutes } from './routes.js';

/** What the worker is started with. */
export interface AdminWorkerData {
  host: string;
  port: number;
}

/** What the server's thread answers a request for. */
export type Wanted = 'metrics' | 'status';

/** From the server's thread to the worker. */
export type ToAdminWorker =
  | { health: ServerState }
  | { answer: number; contentType?: string; text?: string; failed?: boolean }
  | 'close';

/** From the worker to the server's thread. */
export type FromAdminWorker =
  | { listening: { address: string; family: string; port: number } }
  | { failed: string }
  | { ask: number; what: Wanted }
  | { error: string };

/** How long the server's thread may take to answer before the request gets a 500. */
const ASK_TIMEOUT_MS = 5_000;
/** A rendering younger than this is answered again rather than asked for. */
const REUSE_MS = 1_000;
/** Silence from the server's thread this long means its event loop does not answer. */
export const LOOP_SILENT_MS = 5_000;

// Linux keeps a nice value per thread: at the lowest priority, this thread
// gets the CPU the server's thread leaves, when they compete for it. (Not
// elsewhere: there it would lower the whole process.)
if (process.platform === 'linux') {
  try {
    setPriority(19);
  } catch {
    // Not allowed here: it runs at the process's priority.
  }
}

const port = parentPort!;
const { host, port: listenPort } = workerData as AdminWorkerData;
const post = (message: FromAdminWorker) => port.postMessage(message);

let state: ServerState = 'idle';
let heardAt = Date.now();
let lastAsk = 0;
const asked = new Map<number, (answer: Extract<ToAdminWorker, { answer: number }>) => void>();

/** Ask the server's thread for `what`; rejects after `ASK_TIMEOUT_MS`. */
function ask(what: Wanted): Promise<{ contentType: string; text: string }> {
  const id = ++lastAsk;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      asked.delete(id);
      reject(new Error(`the server did not answer for ${what} within ${ASK_TIMEOUT_MS} ms`));
    }, ASK_TIMEOUT_MS);
    asked.set(id, (answer) => {
      clearTimeout(timer);
      asked.delete(id);
      if (answer.failed) reject(new Error(`rendering ${what} failed (see the server's log)`));
      else resolve({ contentType: answer.contentType ?? '', text: answer.text ?? '' });
    });
    post({ ask: id, what });
  });
}

/** `what` from the server's thread, asked for at most once per `REUSE_MS` (concurrent requests share one). */
function reused(what: Wanted): () => Promise<{ contentType: string; text: string }> {
  let last: { at: number; value: { contentType: string; text: string } } | undefined;
  let pending: Promise<{ contentType: string; text: string }> | undefined;
  return () => {
    if (last !== undefined && Date.now() - last.at < REUSE_MS) return Promise.resolve(last.value);
    pending ??= ask(what)
      .then((value) => {
        last = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

const metrics = reused('metrics');
const status = reused('status');
const listener = adminRoutes(
  {
    metrics,
    status: async () => (await status()).text,
    health: () => ({ state, alive: Date.now() - heardAt < LOOP_SILENT_MS }),
  },
  (error) => post({ error: (error as Error)?.message ?? String(error) }),
);

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
  (request, response) => listener(request, response),
);
// Scrapers, probes and a few browsers: more connections than this are refused.
http.maxConnections = 64;

port.on('message', (message: ToAdminWorker) => {
  heardAt = Date.now();
  if (message === 'close') {
    http.close(() => port.close());
    http.closeAllConnections();
  } else if ('health' in message) {
    state = message.health;
  } else {
    asked.get(message.answer)?.(message);
  }
});
http.once('error', (error: NodeJS.ErrnoException) => {
  post({ failed: error.code ? `${error.code}: ${error.message}` : error.message });
  port.close();
});
http.listen(listenPort, host, () => {
  const { address, family, port: bound } = http.address() as AddressInfo;
  post({ listening: { address, family, port: bound } });
});
