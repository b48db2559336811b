import { HostNotFoundError, resolveEndpointHost } from '@zrpc/core';
import { Dealer } from 'zeromq';

/** No server took the CLI's connection in time; the message names the endpoint and what failed. */
export class NoServerError extends Error {
  override name = 'NoServerError';

  constructor(
    message: string,
    /** What failed, without the endpoint: `host "x" does not resolve (ENOTFOUND)`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * Resolve when a ZeroMQ peer at `endpoint` completes a handshake with a
 * probe socket of our own, or when `signal` aborts (the call is over);
 * reject with a `NoServerError` when the host name does not resolve, or
 * nothing answers within `timeoutMs`.
 *
 * The client itself would wait for its whole call timeout (30 s by
 * default), retrying quietly, because ZeroMQ connects in the background.
 * The CLI runs this beside the call, so a server that is up costs nothing
 * and one that is not is reported after `timeoutMs`.
 */
export async function waitForServer(
  endpoint: string,
  options: { ipv6: boolean; timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const started = Date.now();
  try {
    await resolveEndpointHost(endpoint, options.timeoutMs);
  } catch (error) {
    if (!(error instanceof HostNotFoundError)) throw error;
    throw new NoServerError(`cannot reach ${endpoint}: ${error.message}`, error.message);
  }
  if (options.signal.aborted) return;
  const probe = new Dealer({ linger: 0, ipv6: options.ipv6 });
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      stop = resolve;
      options.signal.addEventListener('abort', stop);
      timer = setTimeout(
        () => {
          const reason = `nothing accepted a connection within ${options.timeoutMs / 1000}s`;
          reject(
            new NoServerError(
              `no server answers at ${endpoint}: ${reason} (--connect-timeout <seconds> waits longer)`,
              reason,
            ),
          );
        },
        options.timeoutMs - (Date.now() - started),
      );
      probe.events.on('handshake', () => resolve());
      probe.connect(endpoint);
    });
  } finally {
    clearTimeout(timer);
    if (stop) options.signal.removeEventListener('abort', stop);
    probe.close();
  }
}
