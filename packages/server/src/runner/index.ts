export type { ListenAddress } from './addrport.js';
export { DEFAULT_ADDRPORT, parseAddrport } from './addrport.js';
export type { CommandLine } from './args.js';
export { parseCommandLine } from './args.js';
export type { RunnerServerOptions, ZrpcConfig } from './config.js';
export { defineConfig, findConfigFile, loadConfig } from './config.js';
export type { DiscoveredApp, DiscoverOptions, LocatedApp } from './discover.js';
export { discoverApps } from './discover.js';
export {
  AppImportError,
  MethodConflictError,
  RunnerError,
  TypeScriptUnavailableError,
  UsageError,
} from './errors.js';
export type { RunnerLoggerOptions } from './logger.js';
export { DEFAULT_VERBOSITY, runnerLogger, VERBOSITY_LEVELS } from './logger.js';
export type { RunnerLog, RunningServer, RunOptions } from './run.js';
export { runServer } from './run.js';
