import { lookup } from 'node:dns/promises';
import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * An address given the way Django's `runserver` takes one, as a ZeroMQ
 * endpoint: `ipv6` says whether the socket needs ZeroMQ's ipv6 option.
 */
export interface Address {
  endpoint: string;
  ipv6: boolean;
}

/** An address that cannot be understood; the message is Django's wording. */
export class AddressError extends TypeError {
  override name = 'AddressError';
}

/** A host name that does not resolve (the DNS has no address for it, or did not answer in time). */
export class HostNotFoundError extends Error {
  override name = 'HostNotFoundError';
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`host "${host}" does not resolve (${reason})`);
  }
}

// Django's runserver `naiveip_re`, so that `8000`, `0.0.0.0:8000`,
// `[::1]:8000` and `localhost:8000` mean here what Python users expect.
const NAIVE_IP =
  /^(?:(?<addr>(?<ipv4>\d{1,3}(?:\.\d{1,3}){3})|(?<ipv6>\[[a-fA-F0-9:]+\])|(?<fqdn>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)):)?(?<port>\d+)$/;

// A full ZeroMQ endpoint is taken as is; ZeroMQ itself judges it.
const ZMQ_ENDPOINT = /^(?:tcp|ipc|inproc):\/\/./;

/**
 * Parse an address the way Django's runserver parses its `addrport`: a bare
 * port (on 127.0.0.1), `ipv4:port`, `[ipv6]:port`, `host:port` (and
 * `0:port` for `0.0.0.0`), or a full ZeroMQ endpoint (`tcp://…`, `ipc://…`,
 * `inproc://…`). The server's `zrpc-server` and the client's `zrpc` both
 * read addresses with it. Throws an `AddressError` with Django's messages.
 */
export function parseAddrport(value: string): Address {
  if (ZMQ_ENDPOINT.test(value)) return { endpoint: value, ipv6: needsIpv6(value) };
  const match = NAIVE_IP.exec(value);
  if (!match?.groups) {
    throw new AddressError(`"${value}" is not a valid port number or address:port pair.`);
  }
  const { addr, ipv4, ipv6, port } = match.groups as Record<string, string | undefined>;
  const portNumber = Number(port);
  if (portNumber > 65535) throw new AddressError(`"${port}" is not a valid port number.`);
  if (ipv6 !== undefined) {
    const host = ipv6.slice(1, -1);
    if (!isIPv6(host)) throw new AddressError(`"${host}" is not a valid IPv6 address.`);
    return { endpoint: `tcp://[${host}]:${portNumber}`, ipv6: true };
  }
  if (ipv4 !== undefined && !isIPv4(ipv4)) {
    throw new AddressError(`"${ipv4}" is not a valid IPv4 address.`);
  }
  const host = addr === undefined ? '127.0.0.1' : addr === '0' ? '0.0.0.0' : addr;
  return { endpoint: `tcp://${host}:${portNumber}`, ipv6: false };
}

/** The host name of a `tcp://` endpoint, when it is a name (not an IP address nor `*`). */
export function endpointHostName(endpoint: string): string | undefined {
  const match = /^tcp:\/\/(?:[^;]*;)?(?<host>\[[^\]]*\]|[^:]*):[^:]+$/.exec(endpoint);
  const host = match?.groups?.host;
  if (host === undefined || host === '*' || host.startsWith('[') || isIP(host) !== 0) {
    return undefined;
  }
  return host;
}

/**
 * Resolve the host name of a `tcp://` endpoint with the system resolver
 * (what ZeroMQ does later, silently): the families it has addresses in, or
 * a `HostNotFoundError` when it has none or the resolver takes longer than
 * `timeoutMs`. Endpoints without a host name (IP addresses, `*`, ipc,
 * inproc) need no lookup: undefined.
 */
export async function resolveEndpointHost(
  endpoint: string,
  timeoutMs = 10_000,
): Promise<{ host: string; families: Set<number> } | undefined> {
  const host = endpointHostName(endpoint);
  if (host === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HostNotFoundError(host, `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const addresses = await Promise.race([lookup(host, { all: true }), late]);
    if (addresses.length === 0) throw new HostNotFoundError(host, 'no address');
    return { host, families: new Set(addresses.map((address) => address.family)) };
  } catch (error) {
    if (error instanceof HostNotFoundError) throw error;
    throw new HostNotFoundError(host, (error as NodeJS.ErrnoException).code ?? String(error));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a socket needs ZeroMQ's `ipv6` option for `endpoint`: an IPv6
 * address in brackets. The option stays off otherwise, so that a host name
 * keeps resolving to IPv4.
 */
export function needsIpv6(endpoint: string): boolean {
  return endpoint.startsWith('tcp://[');
}
