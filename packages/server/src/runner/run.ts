import { constants } from 'node:os';
import {
  type CallObserver,
  HostNotFoundError,
  resolveEndpointHost,
  rpc,
  type ServerMiddleware,
} from '@zrpc/core';
import { writeLog } from '../log.js';
import type { Logger } from '../options.js';
import { Server } from '../server.js';
import { DEFAULT_ADDRPORT, parseAddrport } from './addrport.js';
import { bannerLines } from './banner.js';
import type { RunnerServerOptions } from './config.js';
import { type DiscoveredApp, discoverApps } from './discover.js';
import { RunnerError, UsageError } from './errors.js';
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

export interface RunOptions {
  /** The apps to serve: directories or package names, resolved from `cwd`. */
  apps: readonly string[];
  /** Where app directories and package names are resolved from (default: the cwd). */
  cwd?: string;
  /** Where to listen: an addrport or a ZeroMQ endpoint (default `127.0.0.1:4242`). */
  address?: string;
  middleware?: ServerMiddleware[];
  observers?: CallObserver[];
  server?: RunnerServerOptions;
  log?: RunnerLog;
}

/** A started runner: the listening server and the apps it loaded. */
export interface RunningServer {
  readonly server: Server;
  readonly apps: readonly DiscoveredApp[];
}

/**
 * Discover the apps, serve the methods they registered and print where the
 * server listens and what it serves. Close it with `server.close()`.
 */
export async function runServer(options: RunOptions): Promise<RunningServer> {
  const cwd = options.cwd ?? process.cwd();
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
  try {
    await server.bind(address.endpoint);
  } catch (err) {
    await server.close();
    throw new RunnerError(`cannot listen on ${address.endpoint}: ${(err as Error).message}`);
  }
  const log = options.log ?? consoleLog;
  for (const line of bannerLines(apps, rpc.list(), server.endpoints, cwd)) log.info(line);
  const logger = options.server?.logger;
  if (logger !== undefined) {
    const methods = rpc.list().length;
    writeLog(
      logger,
      'info',
      {
        endpoints: server.endpoints,
        methods,
        apps: apps.map((app) => app.name),
        server: server.name,
      },
      `${server.name} serving ${methods} method${methods === 1 ? '' : 's'} on ${server.endpoints.join(', ')}`,
    );
  }
  return { server, apps };
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
    running.server.close().then(
      () => {
        if (logger !== undefined) logStop(logger, running.server, signal);
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

/** The last line: why the server stopped, and what it did meanwhile. */
function logStop(logger: Logger, server: Server, signal: NodeJS.Signals): void {
  const { calls, errors, lostRemotes, rejectedBusy, rejectedClosing } = server.stats;
  writeLog(
    logger,
    'info',
    { signal, calls, errors, lostRemotes, rejectedBusy, rejectedClosing },
    `${server.name} stopped (${signal}) after ${calls} call${calls === 1 ? '' : 's'}, ${errors} answered with an error`,
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
