import type { EventHeader, MessageId } from '@zrpc/core';
import {
  Channel,
  decodeEvent,
  decodeValue,
  encodeEvent,
  MessageIdGenerator,
  MORE,
  messageIdKey,
  monotonicNow,
  type ZEvent,
} from '@zrpc/core/protocol';
import {
  closedAfterEach,
  deferred,
  FakeClock,
  quietLogger,
  startServer as startBound,
  until,
} from '@zrpc/testkit';
import { Dealer } from 'zeromq';
import { Server, type ServerOptions } from '../src/index.js';

export { deferred, quietLogger, until } from '@zrpc/testkit';

/** A server (quiet unless given a logger) bound to a fresh loopback port; `endpoint` is where it listens. */
export function startServer(
  options: ServerOptions = {},
  endpoint = 'tcp://127.0.0.1:*',
): Promise<{ server: Server; endpoint: string }> {
  return startBound(new Server({ logger: quietLogger(), ...options }), endpoint);
}

/**
 * A server and a raw client per test, both closed after each test of the
 * file that calls this (the client first, so nothing is left in flight).
 * A server on a `FakeClock` is closed with that clock moving.
 */
export function serverPerTest(): {
  start(options: ServerOptions): Promise<{ server: Server; client: RawClient; endpoint: string }>;
} {
  const open = closedAfterEach();
  return {
    async start(options) {
      const clock = options.clock instanceof FakeClock ? options.clock : undefined;
      const server = new Server({ logger: quietLogger(), ...options });
      const { endpoint } = await open.server(server, { clock });
      const client = open.add(new RawClient(endpoint));
      return { server, client, endpoint };
    },
  };
}

export interface Received {
  event: ZEvent;
  /** The header decoded on its own, to check msgpack types (bin vs str). */
  raw: Buffer;
}

/**
 * A raw DEALER speaking the wire protocol by hand, as a reference client
 * would. A background loop reads everything into an inbox; `next()` takes
 * from it in order, with a bound so a test never hangs.
 */
export class RawClient {
  readonly socket: Dealer;
  readonly ids = new MessageIdGenerator();
  /** Every event received, in order. */
  readonly received: Received[] = [];
  /** How many of them are not heartbeats (nor answers to `roundTrip`'s pings). */
  replies = 0;
  /** Times the connection to the server dropped (the server cut this peer off, say). */
  disconnects = 0;
  private taken = 0;
  /** The ids of `roundTrip`'s pings, and of those answered. */
  private readonly pings = new Set<string>();
  private readonly pongs = new Set<string>();
  private arrived: { promise: Promise<void>; resolve(): void } = deferred();
  private readonly reading: Promise<void>;

  constructor(
    endpoint: string,
    options: {
      ipv6?: boolean;
      routingId?: string | Buffer;
      socket?: ConstructorParameters<typeof Dealer>[0];
    } = {},
  ) {
    this.socket = new Dealer({ linger: 0, ipv6: options.ipv6 ?? false, ...options.socket });
    // zeromq.js types routingId as a string but takes the bytes of a Buffer as they are.
    if (options.routingId !== undefined) this.socket.routingId = options.routingId as string;
    this.socket.events.on('disconnect', () => this.disconnects++);
    this.socket.connect(endpoint);
    this.reading = this.read();
  }

  /** Send a request; returns its message id. */
  request(name: string, args: unknown, header: Partial<EventHeader> = {}): MessageId {
    const id = header.message_id ?? this.ids.next();
    this.sendEvent({ message_id: id, v: 3, ...header }, name, args);
    return id;
  }

  /** Send an event on the channel `id` (`_zpc_more`, `_zpc_hb`, ...). */
  onChannel(id: MessageId, name: string, args: unknown): void {
    this.sendEvent({ message_id: this.ids.next(), v: 3, response_to: id }, name, args);
  }

  sendEvent(header: EventHeader, name: string, args: unknown): void {
    this.sendFrames([Buffer.alloc(0), Buffer.from(encodeEvent({ header, name, args }))]);
  }

  sendFrames(frames: Buffer[]): void {
    void this.socket.send(frames);
  }

  /** The next event not yet taken. */
  async next(timeoutMs = 5000): Promise<Received> {
    for (;;) {
      await this.until(() => this.received.length > this.taken, timeoutMs, 'an event');
      const received = this.received[this.taken++]!;
      if (!this.pings.has(messageIdKey(received.event.header.response_to)!)) return received;
    }
  }

  /** The next event that is not a heartbeat. */
  async nextReply(timeoutMs = 5000): Promise<ZEvent> {
    for (;;) {
      const { event } = await this.next(timeoutMs);
      if (event.name !== '_zpc_hb') return event;
    }
  }

  /** Wait until `condition()` holds, looking again on each event; rejects after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number, what = 'the condition'): Promise<void> {
    return until(condition, timeoutMs, what, () => this.arrival());
  }

  /**
   * Ping the server and wait for the answer: everything the server had sent
   * this client before it has arrived (one pipe, in order). For "nothing
   * more came" checks, instead of sleeping a while. The answer is in
   * `received`, but `replies` does not count it and `next()` skips it.
   */
  async roundTrip(timeoutMs = 5000): Promise<void> {
    const id = this.ids.next();
    const key = messageIdKey(id)!;
    this.pings.add(key);
    this.request('_zerorpc_ping', [], { message_id: id });
    await this.until(() => this.pongs.has(key), timeoutMs, 'the answer to a ping');
  }

  /** Resolves when the next event arrives. */
  private arrival(): Promise<void> {
    return this.arrived.promise;
  }

  close(): Promise<void> {
    this.socket.close();
    return this.reading;
  }

  private async read(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return; // closed
      }
      const raw = frames[frames.length - 1]!;
      const event = decodeEvent(raw);
      this.received.push({ event, raw });
      const channel = messageIdKey(event.header.response_to)!;
      if (this.pings.has(channel)) this.pongs.add(channel);
      else if (event.name !== '_zpc_hb') this.replies++;
      const arrived = this.arrived;
      this.arrived = deferred();
      arrived.resolve();
    }
  }
}

/** The header of a received payload, decoded as plain msgpack. */
export function headerOf(raw: Buffer): Record<string, unknown> {
  return (decodeValue(raw) as [Record<string, unknown>])[0];
}

/**
 * The value with every Buffer as a plain Uint8Array: the codec decodes bin
 * as a view of the received frame (a Buffer), the vectors give Uint8Arrays.
 */
export function withPlainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(withPlainBytes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlainBytes(v)]));
  }
  return value;
}

export interface StreamRead {
  items: unknown[];
  /** STREAM_DONE or ERR. */
  final: ZEvent;
  /** Most events ever received and not yet consumed. */
  maxOutstanding: number;
  /** Most events ever received beyond what had been granted (> 0 means the server overran). */
  maxOverrun: number;
}

/**
 * Read the stream answering request `id` the way the reference client does:
 * `Channel.pull()` before each event, which grants `_zpc_more` (100, then
 * top-ups) as the application consumes. Use a fresh client: every reply it
 * receives is counted against this stream's credit.
 */
export async function readStream(
  client: RawClient,
  id: MessageId,
  onItem: (item: unknown, index: number) => unknown = () => {},
): Promise<StreamRead> {
  let granted = 1;
  const channel = new Channel(
    id,
    {
      emit: (name, args) => {
        if (name === MORE) granted += (args as [number])[0];
        client.onChannel(id, name, args);
      },
      deliver: () => {},
      lost: () => {},
    },
    { heartbeatMs: 60_000, now: monotonicNow() },
  );
  const items: unknown[] = [];
  let maxOutstanding = 0;
  let maxOverrun = Number.NEGATIVE_INFINITY;
  for (;;) {
    channel.pull();
    const event = await client.nextReply(10_000);
    maxOutstanding = Math.max(maxOutstanding, client.replies - items.length);
    maxOverrun = Math.max(maxOverrun, client.replies - granted);
    if (event.name !== 'STREAM') return { items, final: event, maxOutstanding, maxOverrun };
    items.push(event.args);
    await onItem(event.args, items.length - 1);
  }
}
