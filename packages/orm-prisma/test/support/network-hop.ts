/**
 * A network hop between the service and PostgreSQL: a TCP relay on
 * loopback, standing for what often sits between them in production (a
 * load balancer, a NAT, a database on another host). It passes the bytes of
 * every conversation, and fails the ways a real network does that the pool
 * cannot see by itself:
 *
 * - By default, when PostgreSQL drops an idle connection (a terminated
 *   backend, a restart), the service is not told: the farewell message and
 *   the close stay on the database side, and the service's next write on
 *   that connection is answered with a reset, like a connection to a host
 *   that rebooted or one a NAT forgot.
 * - `cut()`: every open connection goes quiet (bytes are dropped both ways,
 *   nothing is closed) while new connections work: a network cut, a
 *   failover behind a virtual IP.
 */
import { createServer, type Server, Socket } from 'node:net';

/** PostgreSQL's backend message that ends each answer: ReadyForQuery. */
const READY_FOR_QUERY = 0x5a;

export class NetworkHop {
  private readonly links = new Set<Link>();
  private server: Server | undefined;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listen on a free loopback port; resolves to it. */
  async listen(): Promise<number> {
    const server = createServer((service) => this.links.add(new Link(service, this.target)));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  /** Silence every open connection: nothing passes, nothing is closed. New ones work. */
  cut(): void {
    for (const link of this.links) link.quiet = true;
  }

  async close(): Promise<void> {
    for (const link of this.links) link.destroy();
    this.links.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** One relayed connection. */
class Link {
  quiet = false;
  private readonly database = new Socket();
  private databaseGone = false;
  /** Whether the service has asked something that PostgreSQL has not fully answered. */
  private asking = true;
  /** Bytes left of the backend message in progress, and a message header cut across chunks. */
  private remaining = 0;
  private header = Buffer.alloc(0);

  constructor(
    private readonly service: Socket,
    target: { host: string; port: number },
  ) {
    this.database.connect(target.port, target.host);
    service.on('data', (chunk) => this.fromService(chunk));
    this.database.on('data', (chunk) => this.fromDatabase(chunk));
    this.database.on('close', () => {
      this.databaseGone = true;
      // A connection that was answering a question sees the close (it would see an error anyway).
      if (this.asking && !this.quiet) service.destroy();
    });
    this.database.on('error', () => {});
    service.on('error', () => {});
    service.on('close', () => this.database.destroy());
  }

  destroy(): void {
    this.service.destroy();
    this.database.destroy();
  }

  private fromService(chunk: Buffer): void {
    if (this.quiet) return;
    if (this.databaseGone) return void this.service.resetAndDestroy();
    this.asking = true;
    this.database.write(chunk);
  }

  private fromDatabase(chunk: Buffer): void {
    // What PostgreSQL says unasked (the FATAL before it drops a connection) never arrives.
    if (this.quiet || !this.asking) return;
    this.service.write(chunk);
    this.track(chunk);
  }

  /** Follow the backend messages' framing (type byte, int32 length) to see an answer end. */
  private track(chunk: Buffer): void {
    let bytes = this.header.length > 0 ? Buffer.concat([this.header, chunk]) : chunk;
    this.header = Buffer.alloc(0);
    if (this.remaining >= bytes.length) {
      this.remaining -= bytes.length;
      return;
    }
    bytes = bytes.subarray(this.remaining);
    this.remaining = 0;
    while (bytes.length > 0) {
      // An answer goes on until a whole ReadyForQuery has arrived.
      this.asking = true;
      if (bytes.length < 5) {
        this.header = Buffer.from(bytes);
        return;
      }
      const size = 1 + bytes.readInt32BE(1);
      if (size > bytes.length) {
        this.remaining = size - bytes.length;
        return;
      }
      this.asking = bytes[0] !== READY_FOR_QUERY;
      bytes = bytes.subarray(size);
    }
  }
}
