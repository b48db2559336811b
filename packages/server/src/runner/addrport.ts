import { type Address, AddressError, parseAddrport as parseAddress } from '@zrpc/core';
import { UsageError } from './errors.js';

/** Where the runner listens when given no address. */
export const DEFAULT_ADDRPORT = '127.0.0.1:4242';

/** A parsed listening address: a ZeroMQ endpoint, and whether it needs the socket's ipv6 option. */
export type ListenAddress = Address;

/**
 * The runner's `addrport` argument, read by `@zrpc/core`'s `parseAddrport`
 * (Django's runserver forms, shared with the `zrpc` client command); an
 * address it cannot read is a `UsageError` (exit code 2) with Django's message.
 */
export function parseAddrport(value: string): ListenAddress {
  try {
    return parseAddress(value);
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(err.message);
    throw err;
  }
}
