import { AddressError, parseAddrport } from '@zrpc/core';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_TIMEOUT_MS } from '../options.js';

/** How long the CLI waits for a server to accept its connection, by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

export const USAGE = `usage: zrpc [options] <endpoint> [<method> [<arg>...]]

Call a zerorpc server (zrpc, zerorpc-python, zerorpc-node).
Without a method, list the server's methods with their arguments and docs.

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
export function parseCommand(argv: readonly string[]): Command | typeof HELP {
  const positional: string[] = [];
  let json = false;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
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
    else if (option === '--timeout') timeoutMs = seconds(option, value());
    else if (option === '--connect-timeout') connectTimeoutMs = seconds(option, value());
    else if (option === '--heartbeat') heartbeatMs = seconds(option, value());
    else if (option === '--curve-server-key') curveServerKey = value();
    else if (option === '--curve-keys') curveKeys = value();
    else if (token.startsWith('-') && Number.isNaN(Number(token))) {
      throw new UsageError(`unknown option ${option}`);
    } else positional.push(token);
  }
  const [endpoint, method, ...args] = positional;
  if (endpoint === undefined) throw new UsageError('an endpoint is required');
  if ((curveServerKey === undefined) !== (curveKeys === undefined)) {
    throw new UsageError('--curve-server-key and --curve-keys go together');
  }
  return {
    ...readEndpoint(endpoint),
    ...(method === undefined ? {} : { method }),
    args: args.map(parseArg),
    json,
    timeoutMs,
    connectTimeoutMs,
    heartbeatMs,
    ...(curveServerKey !== undefined && {
      curve: { serverKey: curveServerKey, keysFile: curveKeys! },
    }),
  };
}

function splitOption(token: string): [string, string | undefined] {
  const eq = token.indexOf('=');
  return eq < 0 ? [token, undefined] : [token.slice(0, eq), token.slice(eq + 1)];
}

function missing(option: string): never {
  throw new UsageError(`${option} needs a value`);
}

function seconds(option: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${option} takes a positive number of seconds, not "${text}"`);
  }
  return value * 1000;
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
