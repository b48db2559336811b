import { parseArgs } from 'node:util';
import { parseAdminAddress } from '../admin/address.js';
import { DEFAULT_ADDRPORT, parseAddrport } from './addrport.js';
import { UsageError } from './errors.js';
import { DEFAULT_VERBOSITY } from './logger.js';

export const USAGE = `Usage: zrpc-server [addrport] [--app <dir or package>]... [--config <file>]
                   [--pull <addrport>] [--subscribe <endpoint>]...
                   [--name <name>] [--heartbeat <seconds>] [--workers <n>]
                   [--verbosity {0,1,2,3}] [--reload]
                   [--curve-keys <file> --curve-allow <file>]
                   [--metrics [addr:]port] [--help]

Imports the rpcs module of each app and serves the methods they register.

  addrport              where to listen (default ${DEFAULT_ADDRPORT}): a port (8000),
                        ipv4:port (0.0.0.0:8000), [ipv6]:port ([::1]:8000),
                        host:port (localhost:8000), or a ZeroMQ endpoint
                        (tcp://127.0.0.1:8000, ipc:///tmp/zrpc.sock)
  --app <dir or pkg>    an app: a directory, or an installed package name
                        (repeatable; replaces the config file's apps)
  --pull <addrport>     also run the events pushed to this address (a PULL
                        socket, for zerorpc Pushers; same forms as addrport)
  --subscribe <endpoint>
                        also run the events published there (a SUB socket
                        connected to a zerorpc Publisher; repeatable). With
                        --pull or --subscribe and no addrport, only events
                        are served
  --config <file>       the config file (default: zrpc.config.{ts,mts,cts,js,mjs,cjs}
                        in the current directory, when there is one)
  --name <name>         the server name that _zerorpc_ping and _zerorpc_inspect report
  --heartbeat <seconds> the heartbeat interval of every channel
  -v, --verbosity {0,1,2,3}
                        what the log (on stderr) shows: 0 failed calls only,
                        1 (default) also start and stop, one line per call,
                        refused and lost calls, ignored input; 2 also the
                        built-in calls and task contexts; 3 also arguments
  --workers <n>         threads for the methods registered with { worker: true }
                        (default: the machine's cores)
  --reload              for development: serve from a child process and start a
                        fresh one on each change to the apps' files, what they
                        import or the config; it takes over the port once the
                        old one has answered its calls (refused with
                        NODE_ENV=production)
  --curve-keys <file>   CURVE encryption: the server's key pair file, from
                        zrpc-keygen (or ZRPC_CURVE_KEYS); needs --curve-allow
  --curve-allow <file>  the client public keys admitted, one per line (or
                        ZRPC_CURVE_ALLOW); re-read on SIGHUP
  --metrics [addr:]port serve the admin endpoint over HTTP there (address
                        127.0.0.1 unless given): /metrics (Prometheus),
                        /healthz, /readyz, /status.json and the status page /;
                        unauthenticated: keep it on loopback or a pod-internal port
  -h, --help            show this help

Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when starting fails,
2 for a bad command line.
`;

/** The command line, validated: every value here is usable as is. */
export interface CommandLine {
  help: boolean;
  /** The addrport argument, already checked by `parseAddrport`. */
  address: string | undefined;
  apps: string[];
  config: string | undefined;
  /** `--pull`, already checked by `parseAddrport`. */
  pull: string | undefined;
  /** `--subscribe`, each already checked by `parseAddrport`. */
  subscribe: string[];
  name: string | undefined;
  heartbeatMs: number | undefined;
  /** `--verbosity`, 0..3 (default 1). */
  verbosity: number;
  workers: number | undefined;
  /** `--reload`: restart the server on changes to its files. */
  reload: boolean;
  /** CURVE: the key pair file and the allow-list file, given together or not at all. */
  curve: { keys: string; allow: string } | undefined;
  /** `--metrics`: where the admin endpoint listens (`[addr:]port`, already checked). */
  metrics: string | undefined;
}

/** Parse `zrpc-server`'s arguments; anything unusable is a `UsageError`. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { values, positionals } = readArgs(argv);
  if (positionals.length > 1) {
    throw usageError(`too many arguments: ${positionals.slice(1).join(' ')}`);
  }
  const address = positionals[0];
  // Checked now so that a typo fails before any config or app code runs.
  if (address !== undefined) parseAddrport(address);
  for (const events of [values.pull ?? [], values.subscribe ?? []].flat()) parseAddrport(events);
  if (values.name === '') throw usageError('--name must not be empty');
  if (values.metrics !== undefined) parseMetricsAddress(values.metrics);
  return {
    help: values.help ?? false,
    address,
    apps: values.app ?? [],
    config: values.config,
    pull: values.pull,
    subscribe: values.subscribe ?? [],
    name: values.name,
    heartbeatMs: values.heartbeat === undefined ? undefined : parseHeartbeat(values.heartbeat),
    verbosity:
      values.verbosity === undefined ? DEFAULT_VERBOSITY : parseVerbosity(values.verbosity),
    workers: values.workers === undefined ? undefined : parseWorkers(values.workers),
    reload: values.reload ?? false,
    curve: curveFiles(
      values['curve-keys'] ?? process.env.ZRPC_CURVE_KEYS,
      values['curve-allow'] ?? process.env.ZRPC_CURVE_ALLOW,
    ),
    metrics: values.metrics,
  };
}

function curveFiles(keys: string | undefined, allow: string | undefined): CommandLine['curve'] {
  if (!keys && !allow) return undefined;
  if (!keys || !allow) {
    throw usageError('--curve-keys and --curve-allow go together (a key pair and an allow-list)');
  }
  return { keys, allow };
}

function readArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        app: { type: 'string', multiple: true },
        config: { type: 'string' },
        pull: { type: 'string' },
        subscribe: { type: 'string', multiple: true },
        name: { type: 'string' },
        heartbeat: { type: 'string' },
        verbosity: { type: 'string', short: 'v' },
        workers: { type: 'string' },
        reload: { type: 'boolean' },
        'curve-keys': { type: 'string' },
        'curve-allow': { type: 'string' },
        metrics: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

function parseHeartbeat(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`"${value}" is not a valid heartbeat: give a positive number of seconds.`);
  }
  return seconds * 1000;
}

function parseMetricsAddress(value: string): void {
  try {
    parseAdminAddress(value);
  } catch (err) {
    throw usageError(`--metrics: ${(err as Error).message}`);
  }
}

function parseVerbosity(value: string): number {
  if (!/^[0-3]$/.test(value)) {
    throw usageError(
      `argument -v/--verbosity: invalid choice: '${value}' (choose from 0, 1, 2, 3)`,
    );
  }
  return Number(value);
}

function parseWorkers(value: string): number {
  const threads = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(threads) || threads < 1) {
    throw new UsageError(`"${value}" is not a valid number of workers: give an integer >= 1.`);
  }
  return threads;
}

function usageError(message: string): UsageError {
  return new UsageError(`${message}\nRun zrpc-server --help for usage.`);
}
