import type { Clock, ClockTimer } from '@zrpc/core';
import { type ClientSocketOptions, Connection } from './connection.js';

/** One server as the pool's observability sees it. */
export interface ServerStats {
  endpoint: string;
  /** Calls and streams open on this server now. */
  openCalls: number;
  /** `up`: takes new calls; `ejected`: out of rotation until a ping answers; `draining`: leaving. */
  state: ServerState;
  /** Times this server was taken out of rotation. */
  ejections: number;
}

export type ServerState = 'up' | 'ejected' | 'draining';

/** How an ejected server is tried again: first after this many ms, doubling up to the max. */
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

// A timer callback that takes its link as an argument: no closure per timer.
const probeDue = (link: ServerLink): void => void link.probe();

/** Ask one server whether it answers (a `_zerorpc_ping`); resolves true if it did. */
export type Probe = (connection: Connection) => Promise<boolean>;

/** One server address: its socket and its place in the rotation. */
class ServerLink {
  state: ServerState = 'up';
  ejections = 0;
  /** A ping in flight (its channel is not a call of the client's). */
  probing = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private retry: ClockTimer | undefined;
  readonly connection: Connection;

  constructor(
    endpoint: string,
    socketOptions: ClientSocketOptions | undefined,
    private readonly servers: Servers,
  ) {
    this.connection = new Connection(endpoint, servers.clock, socketOptions, {
      // A connection made again is worth a ping now, not at the end of the backoff.
      up: () => this.probeSoon(),
      down: () => servers.eject(this.connection),
    });
  }

  get openCalls(): number {
    return Math.max(0, this.connection.openChannels - (this.probing ? 1 : 0));
  }

  eject(): boolean {
    if (this.state !== 'up') return false;
    this.state = 'ejected';
    this.connection.inRotation = false;
    this.ejections++;
    this.scheduleProbe();
    return true;
  }

  /** Back in rotation (a ping answered, or the address came back to discovery). */
  restore(): void {
    this.servers.clock.clearTimeout(this.retry);
    this.retry = undefined;
    this.state = 'up';
    this.connection.inRotation = true;
    this.backoffMs = FIRST_BACKOFF_MS;
  }

  drain(): void {
    this.servers.clock.clearTimeout(this.retry);
    this.state = 'draining';
    this.connection.inRotation = false;
  }

  close(error: Error): void {
    this.servers.clock.clearTimeout(this.retry);
    this.connection.close(error);
  }

  private probeSoon(): void {
    if (this.state !== 'ejected' || this.probing) return;
    this.servers.clock.clearTimeout(this.retry);
    void this.probe();
  }

  private scheduleProbe(): void {
    this.retry = this.servers.clock.setTimeout(probeDue, this.backoffMs, this);
    this.retry.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  /** Ping the ejected server: back in rotation if it answers, else try again later. */
  async probe(): Promise<void> {
    this.retry = undefined;
    if (this.state !== 'ejected' || this.connection.closed) return;
    this.probing = true;
    const answered = await this.servers.probe(this.connection);
    this.probing = false;
    if (this.state !== 'ejected' || this.connection.closed) return;
    if (answered) this.restore();
    else this.scheduleProbe();
  }
}

/**
 * The servers of one client, one socket each, and the choice of where a new
 * call goes: the server in rotation with the fewest calls open (ties taken
 * in turn). A server whose connection drops or that loses a call's remote
 * is ejected and comes back after a `_zerorpc_ping` answers; calls open on
 * it are left to finish or fail on their own.
 */
export class Servers {
  private readonly links = new Map<string, ServerLink>();
  /** The links in rotation order, for picking without building arrays. */
  private order: ServerLink[] = [];
  private turn = 0;
  private added: Array<() => void> = [];
  private isClosed = false;
  private reachedOnce = false;

  constructor(
    /** Where backoff and the connections' drop grace are timed. */
    readonly clock: Clock,
    private readonly socketOptions: ClientSocketOptions | undefined,
    readonly probe: Probe,
    /** Told when a server is ejected (discovery then resolves its name again). */
    private readonly onEject: () => void = () => {},
  ) {}

  get endpoints(): string[] {
    return [...this.links.keys()];
  }

  get stats(): ServerStats[] {
    return this.order.map((link) => ({
      endpoint: link.connection.endpoint,
      openCalls: link.openCalls,
      state: link.state,
      ejections: link.ejections,
    }));
  }

  get openChannels(): number {
    let open = 0;
    for (const link of this.order) open += link.openCalls;
    return open;
  }

  get droppedEvents(): number {
    let dropped = 0;
    for (const link of this.order) dropped += link.connection.droppedEvents;
    return dropped;
  }

  /** Connect to `endpoint` (an address, not a name); a draining one is taken back. */
  add(endpoint: string): void {
    const known = this.links.get(endpoint);
    if (known !== undefined) {
      if (known.state === 'draining') known.restore();
      return;
    }
    const link = new ServerLink(endpoint, this.socketOptions, this);
    this.links.set(endpoint, link);
    this.order.push(link);
    for (const wake of this.added.splice(0)) wake();
  }

  /** No new calls to `endpoint`; its socket closes once its open calls end. */
  drain(endpoint: string): void {
    const link = this.links.get(endpoint);
    if (link === undefined) return;
    link.drain();
    this.closeIfDrained(link);
  }

  /**
   * Where a new call goes: the server in rotation with the fewest calls
   * open, else (none in rotation) the least busy of the others, where the
   * request waits for the server to come back. Undefined with no server.
   */
  pick(): Connection | undefined {
    const order = this.order;
    const count = order.length;
    if (count === 1) return order[0]!.state === 'draining' ? undefined : order[0]!.connection;
    let best: ServerLink | undefined;
    let fallback: ServerLink | undefined;
    this.turn = (this.turn + 1) % Math.max(count, 1);
    for (let i = 0; i < count; i++) {
      const link = order[(this.turn + i) % count]!;
      const open = link.connection.openChannels;
      if (link.state === 'up') {
        if (best === undefined || open < best.connection.openChannels) best = link;
      } else if (link.state === 'ejected') {
        if (fallback === undefined || open < fallback.connection.openChannels) fallback = link;
      }
    }
    return (best ?? fallback)?.connection;
  }

  /** Whether some server other than `connection`'s is in rotation (a request may move there). */
  hasOtherThan(connection: Connection): boolean {
    for (const link of this.order)
      if (link.state === 'up' && link.connection !== connection) return true;
    return false;
  }

  /** Resolves when a server is added (or at once if there is one). */
  whenAny(): Promise<void> {
    if (this.order.length > 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.added.push(resolve));
  }

  /** Out of rotation until a ping answers (a dropped connection, a lost remote). */
  eject(connection: Connection): void {
    const link = this.links.get(connection.endpoint);
    if (link?.connection !== connection || !link.eject()) return;
    this.onEject();
  }

  /** A call on `connection` ended: a draining server closes once it has none left. */
  callEnded(connection: Connection): void {
    if (!connection.inRotation) {
      const link = this.links.get(connection.endpoint);
      if (link?.connection === connection) this.closeIfDrained(link);
    }
  }

  close(error: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const link of this.order) link.close(error);
    this.links.clear();
    this.order = [];
    // Calls waiting for a first server end now (with ClientClosedError).
    for (const wake of this.added.splice(0)) wake();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Some server was reached once: the client's first connection is behind it. */
  get connected(): boolean {
    if (!this.reachedOnce) this.reachedOnce = this.order.some((link) => link.connection.reached);
    return this.reachedOnce;
  }

  private closeIfDrained(link: ServerLink): void {
    if (link.state !== 'draining' || link.openCalls > 0) return;
    link.close(new Error('the server left the rotation'));
    this.links.delete(link.connection.endpoint);
    this.order = this.order.filter((other) => other !== link);
  }
}
