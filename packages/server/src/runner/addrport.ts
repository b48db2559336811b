import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from './errors.js';

/** Where the runner listens when given no address. */
export const DEFAULT_ADDRPORT = '127.0.0.1:4242';

/** A parsed listening address: a ZeroMQ endpoint, and whether it needs the socket's ipv6 option. */
export interface ListenAddress {
  endpoint: string;
  ipv6: boolean;
}

// Django's runserver `naiveip_re`, so that `8000`, `0.0.0.0:8000`,
// `[::1]:8000` and `localhost:8000` mean here what Python users expect.
const NAIVE_IP =
  /^(?:(?<addr>(?<ipv4>\d{1,3}(?:\.\d{1,3}){3})|(?<ipv6>\[[a-fA-F0-9:]+\])|(?<fqdn>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)):)?(?<port>\d+)$/;

// A full ZeroMQ endpoint is taken as is; ZeroMQ itself judges it at bind time.
const ZMQ_ENDPOINT = /^(?:tcp|ipc|inproc):\/\/./;

/**
 * Parse the runner's `addrport` argument the way Django's runserver does:
 * a bare port, `ipv4:port`, `[ipv6]:port`, `fqdn:port` (and `0:port` for
 * `0.0.0.0`), or a full ZeroMQ endpoint (`tcp://…`, `ipc://…`,
 * `inproc://…`). Throws a `UsageError` with Django's messages otherwise.
 */
export function parseAddrport(value: string): ListenAddress {
  if (ZMQ_ENDPOINT.test(value)) return { endpoint: value, ipv6: value.startsWith('tcp://[') };
  const match = NAIVE_IP.exec(value);
  if (!match?.groups) {
    throw new UsageError(`"${value}" is not a valid port number or address:port pair.`);
  }
  const { addr, ipv4, ipv6, port } = match.groups as Record<string, string | undefined>;
  const portNumber = Number(port);
  if (portNumber > 65535) throw new UsageError(`"${port}" is not a valid port number.`);
  if (ipv6 !== undefined) {
    const host = ipv6.slice(1, -1);
    if (!isIPv6(host)) throw new UsageError(`"${host}" is not a valid IPv6 address.`);
    return { endpoint: `tcp://[${host}]:${portNumber}`, ipv6: true };
  }
  if (ipv4 !== undefined && !isIPv4(ipv4)) {
    throw new UsageError(`"${ipv4}" is not a valid IPv4 address.`);
  }
  const host = addr === undefined ? '127.0.0.1' : addr === '0' ? '0.0.0.0' : addr;
  return { endpoint: `tcp://${host}:${portNumber}`, ipv6: false };
}
