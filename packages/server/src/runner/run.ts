import { constants } from 'node:os';
import {
  type CallObserver,
  HostNotFoundError,
  resolveEndpointHost,
  rpc,
  type ServerMiddleware,
} from '@zrpc/core';
import type { AdminServer } from '../admin/serve.js';
import { writeLog } from '../log.js';
import type { Logger } from '../options.js';
import { Server } from '../server.js';
import { DEFAULT_ADDRPORT, parseAddrport } from './addrport.js';
import { bannerLines } from './banner.js';
import type { RunnerServerOptions } from './config.js';
import { type DiscoveredApp, discoverApps } from './discover.js';
import { RunnerError, UsageError } from './errors.js';
import {
  closeEvents,
  type EventSources,
  hasEventSources,
  type RunningEvents,
  startEvents,
} from './events.js';
import { flushRunnerLogs } from './log-destination.js';

/** Where the runner writes: `info` for the start banner and progress, `error` for failures. */
export interface RunnerLog {
  info(line: string): void;
  error(line: string): void;
}

/** The runner's own lines, after whatever the log holds (see `flushRunnerLogs`). */
export const consoleLog: RunnerLog = {
  info: (line) => {
    flushRunnerLogs();
    process.stdout.write(`${line}\n`);
  },
  error: (line) => {
    flushRunnerLogs();
    process.stderr.write(`${line}\n`);
  },
};

export interface RunOptions extends EventSources {
  /** The apps to serve: directories or package names, resolved from `cwd`. */
  apps: readonly string[];
  /** Where app directories and package names are resolved from (default: the cwd). */
  cwd?: string;
  /**
   * Where to listen for calls: an addrport or a ZeroMQ endpoint (default
   * `127.0.0.1:4242`, unless `pull` or `subscribe` is given: then only
   * events are served, the server not listening).
   */
  address?: string;
  middleware?: ServerMiddleware[];
  observers?: CallObserver[];
  server?: RunnerServerOptions;
  /**
   * Serve the admin endpoint (/metrics, /healthz, /readyz, /status.json and
   * the status page) at `address` (`[host:]port`); `version` is the
   * service's, shown on the status page.
   */
  metrics?: { address: string; version?: string };
  log?: RunnerLog;
  /**
   * Called with the endpoint to bind once the apps are loaded and the
   * server is made, before it binds; answers the endpoint to bind. The
   * reloader's servers wait here until the old server has left the port.
   */
  beforeBind?: (endpoint: string) => Promise<string>;
}

/** A started runner: the server (listening, unless it serves events only), the apps it loaded, its event receivers, and its admin endpoint if asked for. */
export interface RunningServer extends RunningEvents {
  readonly server: Server;
  readonly apps: readonly DiscoveredApp[];
  /** With `metrics`: the admin endpoint (close it after the server). */
  readonly admin?: AdminServer;
}

/**
 * Discover the apps, serve the methods they registered and print where the
 * server listens and what it serves. Close it with `server.close()`.
 */
export async function runServer(options: RunOptions): Promise<RunningServer> {
  const cwd = options.cwd ?? process.cwd();
  const eventsOnly = options.address === undefined && hasEventSources(options);
  const address = parseAddrport(options.address ?? DEFAULT_ADDRPORT);
  if (options.apps.length === 0) {
    throw new UsageError(
      'no apps to serve: give --app <directory or package>, or list apps in zrpc.config.ts',
    );
  }
  // Before any app code runs, and with a message ZeroMQ does not give ("No such device").
  await checkHostResolves(address.endpoint);
  const apps = await discoverApps(options.apps, { cwd });
  const server = new Server({
    ...options.server,
    registry: rpc,
    middleware: options.middleware,
    observers: options.observers,
  });
  // Under --reload, the previous server gives the endpoint up first (and its admin port).
  const endpoint = (await options.beforeBind?.(address.endpoint)) ?? address.endpoint;
  // Up before the bind, so that /readyz says 503 rather than nothing until the server serves.
  const admin = options.metrics && (await startAdmin(server, options.metrics));
  try {
    if (!eventsOnly) await server.bind(endpoint);
  } catch (err) {
    await server.close();
    await admin?.close();
    throw new RunnerError(`cannot listen on ${endpoint}: ${(err as Error).message}`);
  }
  const { lines: eventLines, ...events } = await startEvents(options, {
    middleware: options.middleware,
    logger: options.server?.logger,
    workers: options.server?.workers,
  }).catch(async (err: unknown) => {
    await server.close();
    await admin?.close();
    throw err;
  });
  const log = options.log ?? consoleLog;
  const banner = bannerLines(apps, rpc.list(), server.endpoints, cwd, admin?.url);
  banner.splice(-1, 0, ...eventLines); // before "Quit with CONTROL-C."
  for (const line of banner) log.info(line);
  const logger = options.server?.logger;
  if (logger !== undefined) {
    const methods = rpc.list().length;
    writeLog(
      logger,
      'info',
      {
        endpoints: server.endpoints,
        ...(events.puller && { pull: events.puller.endpoints }),
        ...(events.subscriber && { subscribe: events.subscriber.endpoints }),
        methods,
        apps: apps.map((app) => app.name),
        server: server.name,
      },
      `${server.name} serving ${methods} method${methods === 1 ? '' : 's'} on ${[...server.endpoints, ...eventLines].join(', ')}`,
    );
  }
  return { server, apps, ...events, ...(admin && { admin }) };
}

/** The admin endpoint, loaded only when asked for (it brings prom-client). */
async function startAdmin(
  server: Server,
  { address, version }: NonNullable<RunOptions['metrics']>,
): Promise<AdminServer> {
  const { serveAdmin } = await import('../admin/serve.js');
  try {
    return await serveAdmin(server, { address, version });
  } catch (err) {
    await server.close();
    throw new RunnerError(
      `cannot serve the admin endpoint on ${address}: ${(err as Error).message}`,
    );
  }
}

/** A host name in the endpoint that does not resolve stops the runner, naming it. */
async function checkHostResolves(endpoint: string): Promise<void> {
  try {
    await resolveEndpointHost(endpoint);
  } catch (err) {
    if (!(err instanceof HostNotFoundError)) throw err;
    throw new RunnerError(
      `cannot listen on ${endpoint}: ${err.message}; give an IP address or a name this machine resolves`,
    );
  }
}

/**
 * The command's shutdown: the first SIGINT or SIGTERM closes the server
 * gracefully (calls in flight are answered) and exits 0; a second one, or
 * one before the server is up, exits at once with 128 + the signal number.
 */
export function exitOnSignals(
  current: () => RunningServer | undefined,
  log: RunnerLog,
  logger?: Logger,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const running = current();
    if (closing || running === undefined) {
      log.error(`${signal}: exiting now`);
      process.exit(128 + constants.signals[signal]);
    }
    closing = true;
    log.info(`${signal}: finishing the calls in flight, then exiting (${signal} again to force)`);
    Promise.all([running.server.close(), closeEvents(running)]).then(
      () => {
        if (logger !== undefined) logStop(logger, running, signal);
        process.exit(0);
      },
      (err: unknown) => {
        log.error(`closing the server failed: ${(err as Error)?.stack ?? String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The last line: why the server stopped, and what it and its event receivers did meanwhile. */
function logStop(logger: Logger, running: RunningServer, signal: NodeJS.Signals): void {
  const { server } = running;
  const { calls, errors, lostRemotes, rejectedBusy, rejectedClosing } = server.stats;
  const receivers = [running.puller, running.subscriber].filter((r) => r !== undefined);
  const events = receivers.map((receiver) => receiver.stats);
  const eventsRun = events.reduce((sum, stats) => sum + stats.ok + stats.failed, 0);
  const eventsFailed = events.reduce((sum, stats) => sum + stats.failed, 0);
  const eventFields = receivers.length > 0 ? { eventsRun, eventsFailed } : {};
  const eventWords =
    receivers.length > 0
      ? `; ${eventsRun} event${eventsRun === 1 ? '' : 's'} run, ${eventsFailed} failed`
      : '';
  writeLog(
    logger,
    'info',
    { signal, calls, errors, lostRemotes, rejectedBusy, rejectedClosing, ...eventFields },
    `${server.name} stopped (${signal}) after ${calls} call${calls === 1 ? '' : 's'}, ${errors} answered with an error${eventWords}`,
  );
}

/** SIGHUP re-reads a CURVE server's allow-list (a server without CURVE ignores it). */
export function reloadKeysOnSighup(current: () => RunningServer | undefined, log: RunnerLog): void {
  process.on('SIGHUP', () => {
    const server = current()?.server;
    if (server === undefined || !server.hasCurve) return;
    server.reloadClientKeys().then(
      () => log.info('SIGHUP: CURVE client keys reloaded'),
      (err: unknown) => log.error(`SIGHUP: reloading the CURVE client keys failed: ${String(err)}`),
    );
  });
}
