import { AddressError, parseAddrport } from '@zrpc/core';
import { isDurationMs } from '@zrpc/core/protocol';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_TIMEOUT_MS } from '../options.js';

/** How long the CLI waits for a server to accept its connection, by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

/** How long `zrpc ping` waits for an answer, by default. */
export const DEFAULT_PING_TIMEOUT_MS = 1_000;

export const USAGE = `usage: zrpc [options] <endpoint> [<method> [<arg>...]]
       zrpc ping [--timeout <s>] <endpoint>

Call a zerorpc server (zrpc, zerorpc-python, zerorpc-node).
Without a method, list the server's methods with their arguments and docs.
\`zrpc ping\` asks for _zerorpc_ping and prints one line; it exits with 0 when
the server answers within --timeout (default ${DEFAULT_PING_TIMEOUT_MS / 1000} s), else with 1.

  <endpoint>         where the server listens, in any form zrpc-server takes:
                     a port (4242, on 127.0.0.1), host:port, [ipv6]:port,
                     or a ZeroMQ endpoint (tcp://host:port, ipc:///path)
  <arg>              parsed as JSON when it is valid JSON, else taken as a string

options:
  --json             print results as JSON (a stream: one item per line)
  --timeout <s>      seconds to wait for a reply (default ${DEFAULT_TIMEOUT_MS / 1000})
  --connect-timeout <s>
                     seconds to wait for a server to accept the connection
                     (default ${DEFAULT_CONNECT_TIMEOUT_MS / 1000})
  --heartbeat <s>    heartbeat interval in seconds (default ${DEFAULT_HEARTBEAT_MS / 1000})
                     (durations: seconds, or with a unit: 500ms, 1.5s)
  --curve-server-key <z85>  CURVE: the server's public key; needs --curve-keys
  --curve-keys <file>       CURVE: this client's key pair file (zrpc-keygen)
  -h, --help         show this help
`;

/** What the command line asks for. */
export interface Command {
  endpoint: string;
  /** The endpoint is an IPv6 address: the socket needs ZeroMQ's ipv6 option. */
  ipv6: boolean;
  /** Absent: list the methods. */
  method?: string;
  args: unknown[];
  json: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  heartbeatMs: number;
  /** CURVE: the server's public key and this client's key pair file. */
  curve?: { serverKey: string; keysFile: string };
}

/** `zrpc ping <endpoint>`: is the server there and answering? */
export interface PingCommand {
  ping: true;
  endpoint: string;
  ipv6: boolean;
  json: boolean;
  /** How long the whole probe may take: connecting and the answer. */
  timeoutMs: number;
  curve?: { serverKey: string; keysFile: string };
}

/** Bad usage: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help`: print the usage and exit with 0. */
export const HELP = Symbol('help');

/**
 * Parse the arguments after `zrpc`. Options may come anywhere; `--` ends
 * them; a token like `-1` is an argument (a number), not an option.
 */
export function parseCommand(argv: readonly string[]): Command | PingCommand | typeof HELP {
  const positional: string[] = [];
  let json = false;
  let timeoutMs: number | undefined;
  let connectTimeoutMs: number | undefined;
  let heartbeatMs = DEFAULT_HEARTBEAT_MS;
  let curveServerKey: string | undefined;
  let curveKeys: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const [option, inline] = token.startsWith('--') ? splitOption(token) : [token, undefined];
    const value = () => inline ?? argv[++i] ?? missing(option);
    if (option === '-h' || option === '--help') return HELP;
    else if (option === '--json') json = true;
    else if (option === '--timeout') timeoutMs = duration(option, value());
    else if (option === '--connect-timeout') connectTimeoutMs = duration(option, value());
    else if (option === '--heartbeat') heartbeatMs = duration(option, value());
    else if (option === '--curve-server-key') curveServerKey = value();
    else if (option === '--curve-keys') curveKeys = value();
    else if (token.startsWith('-') && Number.isNaN(Number(token))) {
      throw new UsageError(`unknown option ${option}`);
    } else positional.push(token);
  }
  if ((curveServerKey === undefined) !== (curveKeys === undefined)) {
    throw new UsageError('--curve-server-key and --curve-keys go together');
  }
  const curve = curveServerKey !== undefined && {
    curve: { serverKey: curveServerKey, keysFile: curveKeys! },
  };
  // `ping` is no endpoint zrpc-server would take: as the first word it is the command.
  if (positional[0] === 'ping') {
    const [, endpoint, ...rest] = positional;
    if (endpoint === undefined) throw new UsageError('zrpc ping needs an endpoint');
    if (rest.length > 0) throw new UsageError('zrpc ping takes one endpoint and no method');
    if (connectTimeoutMs !== undefined) {
      throw new UsageError('zrpc ping takes --timeout, which bounds connecting too');
    }
    return {
      ping: true,
      ...readEndpoint(endpoint),
      json,
      timeoutMs: timeoutMs ?? DEFAULT_PING_TIMEOUT_MS,
      ...curve,
    };
  }
  const [endpoint, method, ...args] = positional;
  if (endpoint === undefined) throw new UsageError('an endpoint is required');
  return {
    ...readEndpoint(endpoint),
    ...(method === undefined ? {} : { method }),
    args: args.map(parseArg),
    json,
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
    connectTimeoutMs: connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    heartbeatMs,
    ...curve,
  };
}

function splitOption(token: string): [string, string | undefined] {
  const eq = token.indexOf('=');
  return eq < 0 ? [token, undefined] : [token.slice(0, eq), token.slice(eq + 1)];
}

function missing(option: string): never {
  throw new UsageError(`${option} needs a value`);
}

const DURATION = /^\s*(?<amount>\d+(?:\.\d*)?|\.\d+)\s*(?<unit>ms|s)?\s*$/;

/**
 * A duration option in ms: seconds (`1.5`), as every zrpc command takes
 * them, or with a unit (`500ms`, `2s`), as probes and health checks are
 * often written.
 */
export function duration(option: string, text: string): number {
  const match = DURATION.exec(text)?.groups;
  const ms = match ? Number(match.amount) * (match.unit === 'ms' ? 1 : 1000) : Number.NaN;
  if (!isDurationMs(ms)) {
    throw new UsageError(
      `${option} takes a positive number of seconds (or 500ms, 1.5s), not "${text}"`,
    );
  }
  return ms;
}

/** The endpoint argument, read like zrpc-server's addrport (`@zrpc/core`'s `parseAddrport`). */
export function readEndpoint(text: string): { endpoint: string; ipv6: boolean } {
  try {
    return parseAddrport(text);
  } catch (error) {
    if (error instanceof AddressError) throw new UsageError(error.message);
    throw error;
  }
}

// Integer literals too long for a double, outside strings.
const LONG_INTEGERS = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![.\deE])/g;
const BIGINT_KEY = '$zrpc_bigint';

/** An argument as JSON when it is valid JSON (integers stay exact), else the text itself. */
export function parseArg(text: string): unknown {
  const marked = text.replace(LONG_INTEGERS, (match) =>
    match.startsWith('"') ? match : `{"${BIGINT_KEY}":"${match}"}`,
  );
  try {
    return JSON.parse(marked, (_key, value) => {
      if (value === null || typeof value !== 'object' || !(BIGINT_KEY in value)) return value;
      const big = BigInt(value[BIGINT_KEY]);
      return Number.isSafeInteger(Number(big)) ? Number(big) : big;
    });
  } catch {
    return text;
  }
}
