import { isIP } from 'node:net';

/** Where the admin endpoint listens. */
export interface AdminAddress {
  host: string;
  port: number;
}

/** The admin endpoint's host when none is given: loopback, as it is unauthenticated. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';

/**
 * Read `[host:]port`: `9464`, `0.0.0.0:9464`, `[::]:9464`, `localhost:9464`
 * (the host defaults to 127.0.0.1; port 0 picks a free one). A value it
 * cannot read throws a RangeError saying what it takes.
 */
export function parseAdminAddress(value: string): AdminAddress {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2] ?? DEFAULT_ADMIN_HOST;
  const bracketed = match?.[1] !== undefined;
  if (
    match === null ||
    port > 65535 ||
    (bracketed && isIP(host) !== 6) ||
    (!bracketed && !/^[A-Za-z0-9.-]+$/.test(host))
  ) {
    throw new RangeError(
      `"${value}" is not a valid admin address: give a port or host:port (9464, 0.0.0.0:9464, [::]:9464)`,
    );
  }
  return { host, port };
}
