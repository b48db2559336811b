import { availableParallelism, hostname } from 'node:os';
import { basename, extname } from 'node:path';
import {
  type CallObserver,
  type Clock,
  type Registry,
  rpc,
  type ServerMiddleware,
} from '@zrpc/core';
import { durationMs, REFERENCE_HEARTBEAT_MS, realClock } from '@zrpc/core/protocol';
import type { Router, SocketOptions } from 'zeromq';
import type { CurveOptions } from './curve.js';
import { DEFAULT_SEND_BUDGET, type SendBudget } from './outbox.js';

/**
 * Where the server writes: `console` fits, and so does a pino logger, which
 * gets structured fields (see `CallLog` in log.ts). `info` takes one line per
 * call, `warn` refused and lost calls and ignored input, `error` failed calls
 * with their traceback.
 */
export interface Logger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * The default: `console` for warnings and errors only, so that a server
 * embedded in a program reports failures without a line per call (pass
 * `console` itself for those).
 */
export const consoleWarnings: Logger = {
  info() {},
  warn: (...args) => console.warn(...args),
  error: (...args) => console.error(...args),
};

export interface ServerOptions {
  /** The methods to serve (default: the global `rpc` registry). */
  registry?: Registry;
  /** Wraps every user call, outermost first; composed once here. */
  middleware?: readonly ServerMiddleware[];
  /**
   * Told every request's end (`CallEnd`), refused ones included: to count
   * or report calls (metrics, say) rather than change them. Synchronous and
   * cheap; see `Server.observe`.
   */
  observers?: readonly CallObserver[];
  /** Answered by `_zerorpc_ping`, `_zerorpc_name`, `_zerorpc_inspect` (default: `<package or script>@<host>`). */
  name?: string;
  /** Heartbeat interval per channel in ms; a client silent for two intervals is lost (default 5000). */
  heartbeatMs?: number;
  /**
   * The heartbeat interval assumed for a client that does not advertise its
   * own (zerorpc-python, zerorpc-node) until two of its heartbeats show its
   * pace; such a client is lost after two of the slower of this and
   * `heartbeatMs` (default 5000, the reference's default). Without it, a
   * server faster than its reference clients would drop them before their
   * first heartbeat. Lower it to your reference clients' interval to detect
   * one that dies before it ever beat sooner.
   */
  assumedPeerHeartbeatMs?: number;
  /**
   * Whether ERR events carry the stack trace. Default: only while every
   * endpoint is loopback, `ipc://` or `inproc://` and NODE_ENV is not
   * `production`; otherwise the caller sees the error's name and message and
   * the traceback goes to the server's log.
   */
  tracebacks?: boolean;
  /** Most user calls running at once (default 1000). */
  concurrency?: number;
  /**
   * Slots a peer already running this many calls leaves free for other
   * peers (default a tenth of `concurrency`): a lone busy peer may use every
   * slot but these, so a peer that arrives later starts at once. While calls
   * wait, freed slots go to the waiting peers in turn.
   */
  reservedSlots?: number;
  /** Most calls waiting for a slot; beyond it a call gets `ServerBusyError` (default 10000). */
  queueLimit?: number;
  /** Most open channels one peer may hold; beyond it a request gets `TooManyChannelsError` (default 1000). */
  maxChannelsPerPeer?: number;
  /** Default: `console` for warnings and errors (no line per call). A pino logger gets fields. */
  logger?: Logger;
  /**
   * CURVE encryption and authentication: the server's key pair and the
   * client keys it admits (see `CurveOptions`). With it, plaintext clients
   * and clients whose key is not listed never get through the handshake.
   */
  curve?: CurveOptions;
  /**
   * Threads of the pool that runs the methods registered with `{ worker }`
   * (default: the machine's cores, `os.availableParallelism()`). The pool
   * starts on the first such call: a server without them starts no thread.
   */
  workers?: number;
  /**
   * A handler that holds the event loop longer than this in one go (ms) is
   * logged by name, with the advice to run it on a worker (default: a tenth
   * of `heartbeatMs`).
   */
  blockWarnMs?: number;
  /**
   * Bytes the server may hold for sending that ZeroMQ has not taken yet:
   * `perPeerBytes` for one peer (default 64 MiB, four replies of the
   * largest size), `totalBytes` for all of them (default 256 MiB). A reply
   * or stream item that would exceed one is refused: its call ends with
   * `SendBudgetError`, which the caller reads as a small ERR. Only a peer
   * that does not read its replies meets them.
   */
  sendBudget?: SendBudget;
  /**
   * Settings of the ROUTER socket, passed to zeromq.js as they are (high-water
   * marks, TCP keepalive, `maxMessageSize`, CURVE keys...). They override the
   * server's own: `linger` 2000, `sendHighWaterMark` 128, `maxMessageSize` 16 MiB.
   * `mandatory` and `sendTimeout` are the server's (true and 0): the send
   * budgets rely on them.
   */
  socket?: ServerSocketOptions;
  /**
   * Where the server reads the time and sets its timers (heartbeats, grace
   * periods): the real clock by default. Tests pass a fake one.
   */
  clock?: Clock;
}

/** The zeromq.js options of the server's ROUTER socket. */
export type ServerSocketOptions = SocketOptions<Router>;

export type ResolvedOptions = Required<
  Omit<ServerOptions, 'tracebacks' | 'curve' | 'sendBudget'>
> & {
  sendBudget: Required<SendBudget>;
  curve: CurveOptions | undefined;
  /** Undefined: decided by the endpoints (see `tracebacksFor`). */
  tracebacks: boolean | undefined;
};

export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const concurrency = count('concurrency', options.concurrency ?? 1000, 1);
  const heartbeatMs = durationMs('heartbeatMs', options.heartbeatMs ?? REFERENCE_HEARTBEAT_MS);
  return {
    registry: options.registry ?? rpc,
    middleware: options.middleware ?? [],
    observers: options.observers ?? [],
    name: options.name ?? defaultServerName(),
    heartbeatMs,
    assumedPeerHeartbeatMs: durationMs(
      'assumedPeerHeartbeatMs',
      options.assumedPeerHeartbeatMs ?? REFERENCE_HEARTBEAT_MS,
    ),
    tracebacks: options.tracebacks,
    concurrency,
    reservedSlots: count('reservedSlots', options.reservedSlots ?? Math.floor(concurrency / 10), 0),
    queueLimit: count('queueLimit', options.queueLimit ?? 10_000, 0),
    maxChannelsPerPeer: count('maxChannelsPerPeer', options.maxChannelsPerPeer ?? 1000, 1),
    logger: options.logger ?? consoleWarnings,
    workers: count('workers', options.workers ?? availableParallelism(), 1),
    blockWarnMs: durationMs('blockWarnMs', options.blockWarnMs ?? heartbeatMs / 10),
    sendBudget: resolveSendBudget(options.sendBudget ?? {}),
    socket: options.socket ?? {},
    curve: options.curve,
    clock: options.clock ?? realClock,
  };
}

function resolveSendBudget(budget: SendBudget): Required<SendBudget> {
  const perPeerBytes = count(
    'sendBudget.perPeerBytes',
    budget.perPeerBytes ?? DEFAULT_SEND_BUDGET.perPeerBytes,
    1,
  );
  const totalBytes = count(
    'sendBudget.totalBytes',
    budget.totalBytes ?? Math.max(DEFAULT_SEND_BUDGET.totalBytes, perPeerBytes),
    perPeerBytes,
  );
  return { perPeerBytes, totalBytes };
}

/** What the process is, and where: `npm_package_name` or the script's name, at the host name. */
export function defaultServerName(): string {
  const script = process.argv[1];
  const what =
    process.env.npm_package_name || (script ? basename(script, extname(script)) : 'zrpc');
  return `${what}@${hostname()}`;
}

/** Whether `value` is a count option's value: a safe integer of at least `min`. */
export function isCount(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

function count(option: string, value: number, min: number): number {
  if (!isCount(value, min)) {
    throw new RangeError(`${option} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * Whether ERR replies carry tracebacks by default: never in production, and
 * never once an endpoint can be reached from another host (a stack trace
 * names files and paths an outsider should not learn).
 */
export function defaultTracebacks(endpoints: readonly string[]): boolean {
  return process.env.NODE_ENV !== 'production' && endpoints.every(isLocalEndpoint);
}

function isLocalEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true;
  const host = /^tcp:\/\/(?:[^;]*;)?(\[[^\]]*\]|[^:]*):/.exec(endpoint)?.[1];
  return (
    host === 'localhost' ||
    host === '[::1]' ||
    host === '[::ffff:127.0.0.1]' ||
    (host !== undefined && /^127\.\d+\.\d+\.\d+$/.test(host))
  );
}
