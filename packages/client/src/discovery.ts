import { lookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ClockTimer } from '@zrpc/core';
import type { Servers } from './servers.js';

/** Finds the addresses (IPv4 or IPv6, no brackets) behind a host name. */
export type Resolve = (host: string) => Promise<string[]>;

export interface DiscoveryOptions {
  /**
   * How a host name in an endpoint becomes addresses (default: the system
   * resolver, every A and AAAA record, as `getaddrinfo` sees them). Give
   * `dnsResolver([...])` to ask given DNS servers, or any function for
   * another registry.
   */
  resolve?: Resolve;
  /** How often names are resolved again, in ms (default 30 000); also after a server fails. */
  refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 30_000;
/** A failure asks for a new resolution at most this often. */
const FAILURE_REFRESH_GAP_MS = 1_000;

/** The system resolver: every address `getaddrinfo` knows for `host` (hosts file, DNS...). */
export const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * A resolver asking the given DNS servers (`'10.0.0.2'`, `'127.0.0.1:5353'`)
 * for the A and AAAA records of a name: a Kubernetes headless Service, say.
 * A name with no records of one family simply has none of them.
 */
export function dnsResolver(servers?: readonly string[]): Resolve {
  const resolver = new Resolver();
  if (servers !== undefined) resolver.setServers(servers);
  const family = (query: Promise<string[]>) =>
    query.catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENODATA' || error.code === 'ENOTFOUND') return [];
      throw error;
    });
  return async (host) => {
    const [v4, v6] = await Promise.all([
      family(resolver.resolve4(host)),
      family(resolver.resolve6(host)),
    ]);
    return [...v4, ...v6];
  };
}

/** A `tcp://host:port` endpoint whose host is a name (not an address): the name and port. */
export function namedEndpoint(endpoint: string): { host: string; port: string } | undefined {
  const match = /^tcp:\/\/([^[\]/:]+):(\d+)$/.exec(endpoint);
  if (match === null || isIP(match[1]!) !== 0) return undefined;
  return { host: match[1]!, port: match[2]! };
}

/** The endpoint of one address found for a name. */
function addressEndpoint(address: string, port: string): string {
  return isIP(address) === 6 ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`;
}

/** One name being watched: the addresses it last resolved to. */
interface Watched {
  host: string;
  port: string;
  endpoints: Set<string>;
}

/**
 * Keeps the servers of named endpoints in step with what their names
 * resolve to: addresses that appear get a socket, addresses that go are
 * drained (their open calls finish first). An answer that fails or is empty
 * changes nothing: a resolver hiccup must not empty the rotation.
 */
export class Discovery {
  private readonly watched: Watched[] = [];
  private readonly resolve: Resolve;
  private readonly refreshMs: number;
  private timer: ClockTimer | undefined;
  private lastFailureRefresh = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  private isClosed = false;
  /** Resolution failures so far (the last one in `lastError`). */
  failures = 0;
  lastError: unknown;

  constructor(
    private readonly servers: Servers,
    options: DiscoveryOptions = {},
  ) {
    this.resolve = options.resolve ?? systemResolve;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.scheduleRefresh();
  }

  watch(host: string, port: string): void {
    this.watched.push({ host, port, endpoints: new Set() });
    void this.refresh();
  }

  /** A server failed: its name may have moved; resolve again (at most once a second). */
  failed(): void {
    const now = this.servers.clock.now();
    if (now - this.lastFailureRefresh < FAILURE_REFRESH_GAP_MS) return;
    this.lastFailureRefresh = now;
    void this.refresh();
  }

  /** Resolve every watched name now; resolves when done (one run at a time). */
  refresh(): Promise<void> {
    if (this.watched.length === 0 || this.isClosed) return Promise.resolve();
    this.running ??= Promise.all(this.watched.map((name) => this.update(name))).then(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.isClosed = true;
    this.servers.clock.clearTimeout(this.timer);
  }

  /** The periodic refresh, on the servers' clock (it holds no process open). */
  scheduleRefresh(): void {
    if (this.isClosed) return;
    this.timer = this.servers.clock.setTimeout(refreshDue, this.refreshMs, this);
    this.timer.unref();
  }

  private async update(name: Watched): Promise<void> {
    let addresses: string[];
    try {
      addresses = await this.resolve(name.host);
    } catch (error) {
      this.failures++;
      this.lastError = error;
      return;
    }
    if (this.isClosed || addresses.length === 0) return;
    const found = new Set(addresses.map((address) => addressEndpoint(address, name.port)));
    for (const endpoint of found) this.servers.add(endpoint);
    for (const endpoint of name.endpoints) if (!found.has(endpoint)) this.servers.drain(endpoint);
    name.endpoints = found;
  }
}

// A timer callback that takes its object as an argument: no closure per timer.
const refreshDue = (discovery: Discovery): void => {
  void discovery.refresh();
  discovery.scheduleRefresh();
};
