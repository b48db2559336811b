#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { inspect } from 'node:util';
import { readKeyPair } from './curve.js';
import { type CommandLine, parseCommandLine, USAGE } from './runner/args.js';
import { findConfigFile, loadConfig, type ZrpcConfig } from './runner/config.js';
import { RunnerError, UsageError } from './runner/errors.js';
import { runnerLogger } from './runner/logger.js';
import {
  consoleLog,
  exitOnSignals,
  type RunningServer,
  type RunOptions,
  reloadKeysOnSighup,
  runServer,
} from './runner/run.js';

async function main(argv: readonly string[]): Promise<void> {
  const commandLine = parseCommandLine(argv);
  if (commandLine.help) {
    process.stdout.write(USAGE);
    return;
  }
  const options = await runOptions(commandLine);
  let running: RunningServer | undefined;
  exitOnSignals(() => running, consoleLog, options.server?.logger);
  reloadKeysOnSighup(() => running, consoleLog);
  running = await runServer(options);
}

/** The config file's settings, overridden by the command line's. */
async function runOptions(commandLine: CommandLine): Promise<RunOptions> {
  const configFile =
    commandLine.config === undefined ? findConfigFile(process.cwd()) : resolve(commandLine.config);
  if (configFile !== undefined && !existsSync(configFile)) {
    throw new UsageError(`config file ${configFile} not found`);
  }
  const config: ZrpcConfig = configFile === undefined ? {} : await loadConfig(configFile);
  const appsFromCommandLine = commandLine.apps.length > 0;
  const metricsAddress = commandLine.metrics ?? config.metrics?.address;
  return {
    apps: appsFromCommandLine ? commandLine.apps : (config.apps ?? []),
    // A config file's apps are relative to the config file, like its imports.
    cwd: appsFromCommandLine || configFile === undefined ? process.cwd() : dirname(configFile),
    address: commandLine.address ?? config.address,
    pull: commandLine.pull ?? config.pull,
    subscribe:
      commandLine.subscribe.length > 0 ? commandLine.subscribe : [config.subscribe ?? []].flat(),
    middleware: config.middleware,
    observers: config.observers,
    ...(metricsAddress !== undefined && {
      metrics: { address: metricsAddress, version: process.env.npm_package_version },
    }),
    server: {
      ...config.server,
      // A logger from the config is used as it is; --verbosity sets the runner's own.
      logger: config.server?.logger ?? runnerLogger({ verbosity: commandLine.verbosity }),
      name: commandLine.name ?? config.server?.name ?? defaultName(),
      ...(commandLine.heartbeatMs !== undefined && { heartbeatMs: commandLine.heartbeatMs }),
      ...(commandLine.curve && {
        curve: {
          ...readKeyPair(resolve(commandLine.curve.keys)),
          clientKeys: resolve(commandLine.curve.allow),
        },
      }),
      ...(commandLine.workers !== undefined && { workers: commandLine.workers }),
    },
  };
}

/**
 * The Server would name itself after the running script, here `cli`; the
 * npm project it runs for, or the command, says more.
 */
function defaultName(): string {
  return `${process.env.npm_package_name || 'zrpc-server'}@${hostname()}`;
}

/** Print why starting failed, with the real cause in full, and choose the exit code. */
function report(err: unknown): number {
  if (!(err instanceof RunnerError)) {
    consoleLog.error(`zrpc-server could not start: ${inspect(err)}`);
    return 1;
  }
  consoleLog.error(err.message);
  if (err.cause !== undefined) consoleLog.error(inspect(err.cause));
  return err.exitCode;
}

main(process.argv.slice(2)).catch((err: unknown) => process.exit(report(err)));
