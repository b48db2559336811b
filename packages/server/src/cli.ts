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
import { reloadRefused, superviseReloads } from './runner/reload.js';
import { reloadChild } from './runner/reload-child.js';
import {
  consoleLog,
  exitOnSignals,
  type RunningServer,
  type RunOptions,
  reloadKeysOnSighup,
  runServer,
} from './runner/run.js';

/** Set when `zrpc-server --reload` started this process to serve. */
const reloading = reloadChild();

async function main(argv: readonly string[]): Promise<void> {
  const commandLine = parseCommandLine(argv);
  if (commandLine.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (commandLine.reload && reloading === undefined) {
    const refused = reloadRefused();
    if (refused !== undefined) throw new UsageError(`--reload: ${refused}`);
    return reload(argv, commandLine);
  }
  const options = await runOptions(commandLine);
  if (options.reload && reloading === undefined) {
    const refused = reloadRefused();
    if (refused !== undefined) throw new RunnerError(`config ${options.configFile}: ${refused}`);
    return reload(argv, commandLine);
  }
  let running: RunningServer | undefined;
  exitOnSignals(() => running, consoleLog, options.server?.logger);
  reloadKeysOnSighup(() => running, consoleLog);
  running = await runServer({ ...options, beforeBind: reloading?.beforeBind });
  reloading?.listening(running.server.endpoints[0]!);
}

/** This process watches; servers run in child processes with the same command line. */
function reload(argv: readonly string[], commandLine: CommandLine): void {
  const configFile = configFileOf(commandLine);
  const args = argv.filter((arg) => arg !== '--reload');
  superviseReloads(args, configFile === undefined ? [] : [configFile], consoleLog);
}

function configFileOf(commandLine: CommandLine): string | undefined {
  return commandLine.config === undefined
    ? findConfigFile(process.cwd())
    : resolve(commandLine.config);
}

/** The config file's settings, overridden by the command line's. */
async function runOptions(
  commandLine: CommandLine,
): Promise<RunOptions & { reload?: boolean; configFile?: string }> {
  const configFile = configFileOf(commandLine);
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
    reload: config.reload,
    configFile,
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

main(process.argv.slice(2)).catch(async (err: unknown) => {
  const code = report(err);
  // Under --reload: the files the error names are watched, so that fixing them reloads.
  await reloading?.failed(err);
  process.exit(code);
});
