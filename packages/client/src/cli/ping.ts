import { RemoteError, statusOf } from '@zrpc/core';
import { Client } from '../client.js';
import type { ClientOptions } from '../options.js';
import type { PingCommand } from './args.js';
import { NoServerError, waitForServer } from './reach.js';

/** What `zrpc ping` found: one line to print, the exit code, and the same as JSON. */
export interface PingResult {
  code: 0 | 1;
  line: string;
  json: Record<string, unknown>;
}

/**
 * Ask the server at `command.endpoint` for `_zerorpc_ping`, within
 * `timeoutMs` all told (connecting included): a probe for a Kubernetes exec
 * probe or a Docker HEALTHCHECK when no HTTP port is open.
 *
 * - `ok <endpoint> <name> <ms> ms`: it answered (a zrpc or zerorpc-python
 *   server answers `["pong", <name>]`); the time is from the request to
 *   the answer, connecting included.
 * - `unreachable <endpoint> (<why>)`: the name does not resolve, nothing
 *   accepted a connection, or nothing answered in time.
 * - `error <endpoint> (<name>: <message>)`: it answered with an error (a
 *   server shutting down answers `ServerDrainingError`).
 */
export async function ping(
  command: PingCommand,
  socket: ClientOptions['socket'],
): Promise<PingResult> {
  const { endpoint, ipv6, timeoutMs } = command;
  // The probe bounds the wait for a server itself: the client waits up to the timeout.
  const client = new Client({
    endpoints: endpoint,
    timeoutMs,
    connectTimeoutMs: timeoutMs,
    socket,
  });
  const done = new AbortController();
  const started = performance.now();
  const answer = client.call('_zerorpc_ping');
  const reach = waitForServer(endpoint, { ipv6, timeoutMs, signal: done.signal });
  try {
    // The answer, unless no server took the connection before it came.
    const pong = await Promise.race([answer, reach.then(() => answer)]);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const name = serverName(pong);
    return {
      code: 0,
      line: `ok ${endpoint} ${name} ${ms} ms`,
      json: { status: 'ok', endpoint, name, ms },
    };
  } catch (error) {
    // Out of time: whether anything accepted the connection tells why (the
    // probe's own deadline is the same, so it has settled or is about to).
    const why =
      statusOf(error) === 'timed_out'
        ? await reach.then(
            () => error,
            (e) => e,
          )
        : error;
    return failure(endpoint, timeoutMs, why);
  } finally {
    done.abort();
    await client.close();
    await Promise.allSettled([answer, reach]);
  }
}

/**
 * The server's name in its answer (`["pong", name]`; zerorpc-node's is
 * empty, shown `N/A` as `zrpc <endpoint>` does), or the answer as JSON.
 */
function serverName(pong: unknown): string {
  if (Array.isArray(pong) && typeof pong[1] === 'string') return pong[1] || 'N/A';
  return JSON.stringify(pong) ?? String(pong);
}

function failure(endpoint: string, timeoutMs: number, error: unknown): PingResult {
  if (error instanceof RemoteError) {
    const reason = error.remoteMessage
      ? `${error.remoteName}: ${error.remoteMessage}`
      : error.remoteName;
    return {
      code: 1,
      line: `error ${endpoint} (${reason})`,
      json: { status: 'error', endpoint, reason },
    };
  }
  const reason =
    error instanceof NoServerError
      ? error.reason
      : statusOf(error) === 'timed_out'
        ? `no answer within ${timeoutMs / 1000}s`
        : `${(error as Error).name}: ${(error as Error).message}`;
  return {
    code: 1,
    line: `unreachable ${endpoint} (${reason})`,
    json: { status: 'unreachable', endpoint, reason },
  };
}
