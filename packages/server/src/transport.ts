import { type EventHeader, ProtocolError } from '@zrpc/core';
import {
  BATCH_EVENTS,
  batchStart,
  decodeEvent,
  encodeEvent,
  needsIpv6,
  OK,
  openEnvelope,
  readableHead,
  readLoop,
  STREAM,
  sleepOn,
  type ZEvent,
} from '@zrpc/core/protocol';
import { Router } from 'zeromq';
import type { BadInputLog } from './bad-input-log.js';
import {
  allowClientKeys,
  clientKeyList,
  curveSocketOptions,
  forgetZapDomain,
  newZapDomain,
} from './curve.js';
import { SendBudgetError } from './errors.js';
import { type PeerKey, peerKeyOf } from './multiplexer.js';
import type { ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import type { TransportCounters } from './stats.js';

/** How long `close` waits for ZeroMQ to close its listening sockets, at most (ms). */
const LISTENER_CLOSE_WAIT_MS = 1000;
/** How long the socket keeps trying to deliver queued replies after close(). */
const LINGER_MS = 2000;
/**
 * Outgoing messages ZeroMQ queues per peer (in its pipe, in this process)
 * before it refuses more for that peer (the socket is `mandatory`): the
 * rest wait in the server's `Outbox`, counted in bytes against the send
 * budget. ZeroMQ counts messages, not bytes, so what it holds for a peer
 * that stops reading is up to this many messages: 128 × the reply size, at
 * worst 128 × `maxMessageSize` (2 GiB at 16 MiB), 128 MiB for 1 MiB replies.
 * Lower bounds that better but costs every fast stream: ZeroMQ's I/O thread
 * tells the sender that a pipe has room again only every half high-water
 * mark, so a small pipe is found full and waited on far more often (a
 * stream of small items, one client: about 90k items/s at 1000, 75k at 256,
 * 55k at 128, 40k at 64 on the 2-core machine of the send-budget work).
 */
const SEND_HIGH_WATER_MARK = 128;
/**
 * Largest message a peer may send (ZeroMQ's own check: a peer that sends a
 * larger one is disconnected before the bytes are buffered), and largest
 * reply the server sends (a larger one gets an ERR instead).
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** What the transport hands to the room above it (the dispatcher). */
export interface Arrivals {
  /** An event from the peer `identity`; `bytes`: its payload's size. */
  event(identity: Buffer[], event: ZEvent, bytes: number): void;
  /**
   * A request whose arguments could not be decoded but whose head could:
   * the caller can be told why (`head.args` is null).
   */
  unreadableRequest(identity: Buffer[], head: ZEvent, bytes: number, reason: ProtocolError): void;
  /** ZeroMQ has no route to `peer` any more (`who`: its id in hex). */
  gone(peer: PeerKey, who: string): void;
}

/**
 * The server's transport room: the ROUTER socket and its options, binding
 * and connecting, the one read loop (frames to events) and every send
 * (events to frames, through the `Outbox` and its send budgets). It knows
 * peers and bytes, not calls.
 */
export class Transport {
  readonly counters: TransportCounters = {
    badFrames: 0,
    sendErrors: 0,
    sendBudgetRefusals: 0,
    sendBudgetDrops: 0,
  };
  private readonly socket: Router;
  private readonly outbox: Outbox;
  private readonly endpointList: string[] = [];
  /** The addresses bound, as ZeroMQ names them (`close` waits for each to close). */
  private readonly boundAddresses: string[] = [];
  private reading: Promise<void> | undefined;
  /** With CURVE: this server's ZAP domain, and the allow-list's first load. */
  private readonly zapDomain: string | undefined;
  private keysLoaded: Promise<void> | undefined;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  /** Replies larger than this are refused (the socket's maxMessageSize; -1: no limit). */
  private readonly maxReplyBytes: number;
  private connections = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly arrivals: Arrivals,
    private readonly badInput: BadInputLog,
  ) {
    const curve = options.curve;
    this.zapDomain = curve && newZapDomain();
    this.socket = new Router({
      ...(curve && curveSocketOptions(curve, this.zapDomain!)),
      linger: LINGER_MS,
      sendHighWaterMark: SEND_HIGH_WATER_MARK,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      ...options.socket,
      // The Outbox relies on these: ZeroMQ refuses at once (EAGAIN) a message
      // for a peer whose pipe is full instead of dropping it (or, without
      // sendTimeout 0, waiting until any peer has room: one slow peer would
      // hold up all), and says EHOSTUNREACH for a peer that is gone.
      mandatory: true,
      sendTimeout: 0,
    });
    this.maxReplyBytes = this.socket.maxMessageSize;
    // Peers are counted from the socket's own events (a ROUTER knows no
    // peer until it sends): each connection accepted or made, until it drops.
    this.socket.events
      .on('accept', () => this.connections++)
      .on('connect', () => this.connections++)
      .on('disconnect', () => {
        this.connections = Math.max(0, this.connections - 1);
      });
    this.outbox = new Outbox(this.socket, options.sendBudget, {
      sent: () => {
        this.lastSendAt = options.clock.now();
      },
      gone: (peer, who) => arrivals.gone(peer, who),
      failed: (error) => {
        this.counters.sendErrors++;
        badInput.note('sendErrors', `send failed: ${(error as Error).message}`);
      },
    });
  }

  /** Every endpoint bound (port `0`/`*` resolved) or connected. */
  get endpoints(): string[] {
    return [...this.endpointList];
  }

  /** Connections open now (see `ServerStats.peers`). */
  get peers(): number {
    return this.connections;
  }

  /** How many endpoints there are (they are only ever added). */
  get endpointCount(): number {
    return this.endpointList.length;
  }

  /** Bytes held for sending that ZeroMQ has not taken yet, and the most there have been. */
  get bytesWaiting(): { now: number; peak: number } {
    return { now: this.outbox.bytesWaiting, peak: this.outbox.peakBytesWaiting };
  }

  /** The send queue's fill, which stream pumps wait on. */
  get sendQueue(): Outbox['front'] {
    return this.outbox.front;
  }

  async bind(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    await this.loadClientKeys();
    // Synchronous on purpose: while zeromq.js binds on a worker thread
    // (`socket.bind`), every send and receive on the socket throws EBUSY, so
    // replies, stream items and heartbeats of the calls in flight would be
    // dropped, and a second bind would fail. Binding is quick (a listening
    // socket); holding the event loop for it loses nothing.
    this.socket.bindSync(endpoint);
    const address = this.socket.lastEndpoint ?? endpoint;
    this.boundAddresses.push(address);
    this.endpointList.push(unmapped(address));
    this.startReading();
  }

  async connect(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    await this.loadClientKeys();
    this.socket.connect(endpoint);
    this.endpointList.push(endpoint);
    this.startReading();
  }

  /** Whether the socket has started reading (bound or connected once). */
  get started(): boolean {
    return this.reading !== undefined;
  }

  /** See `Server.reloadClientKeys`. */
  async reloadClientKeys(): Promise<void> {
    const curve = this.options.curve;
    if (curve === undefined) throw new Error('the server has no CURVE keys');
    await allowClientKeys(this.zapDomain!, clientKeyList(curve.clientKeys));
  }

  /**
   * Encode one event and queue it for the peer; answers its size in bytes.
   * Throws `SendBudgetError` for a data event (OK, STREAM) over a budget,
   * a RangeError for one over `maxMessageSize`, and whatever encoding
   * throws; nothing is queued then.
   */
  send(
    identity: readonly Buffer[],
    header: EventHeader,
    name: string,
    args: unknown,
    zrpcPeer = false,
  ): number {
    const payload = encodeEvent({ header, name, args });
    if (this.maxReplyBytes > 0 && payload.byteLength > this.maxReplyBytes) {
      throw new RangeError(
        `the ${name} event is ${payload.byteLength} bytes, over maxMessageSize (${this.maxReplyBytes})`,
      );
    }
    // Only the events that carry user data are refused with an error; the
    // small ones (ERR, STREAM_DONE, heartbeats, credit) have an allowance
    // past the budget, so that the ERR telling a caller why gets through.
    const data = name === OK || name === STREAM;
    const peer = peerKeyOf(identity);
    let queued: boolean;
    try {
      queued = this.outbox.push(
        peer,
        identity,
        framesOf(identity, payload, zrpcPeer),
        payload.length,
        data,
        zrpcPeer,
      );
    } catch (error) {
      if (error instanceof SendBudgetError) {
        this.counters.sendBudgetRefusals++;
        this.badInput.note('sendBudgetRefusals', error.message);
      }
      throw error;
    }
    if (!queued) this.counters.sendBudgetDrops++;
    return payload.length;
  }

  /**
   * Flush and close: what is queued goes out, messages a peer's full pipe
   * kept back get `drainMs` to leave (then those of a peer that does not
   * read are dropped), and the connection stays up `drainMs` after the last
   * send so that clients read the last replies.
   */
  async close(drainMs: number): Promise<void> {
    await this.outbox.front.idle();
    await this.outbox.settled(drainMs);
    // A client DEALER with `immediate` (the zrpc client's) drops what it
    // received but has not read yet when the connection closes. Keep the
    // connection up a moment (refusing new calls) so that clients read it:
    // without this, 1% of the replies in flight at SIGTERM were lost
    // (test/drain.test.ts of @zrpc/client).
    const drainLeft = this.lastSendAt + drainMs - this.options.clock.now();
    if (drainLeft > 0) await sleepOn(this.options.clock, drainLeft);
    this.outbox.close();
    await this.closeSocket();
    if (this.zapDomain !== undefined) forgetZapDomain(this.zapDomain);
    await this.reading;
  }

  /**
   * Close the socket, and wait until ZeroMQ has closed its listening
   * sockets (a second at most): `close()` returns before that, and a server
   * bound to the same port right after found it taken (EADDRINUSE), a
   * restart in the same process most of the time. (Not `unbind`: it runs
   * on a worker thread while the read loop uses the socket, and zeromq.js
   * 6.8's `unbindSync` binds instead.)
   */
  private async closeSocket(): Promise<void> {
    const addresses = new Set(this.boundAddresses.splice(0));
    if (this.socket.closed || addresses.size === 0) {
      this.socket.close();
      return;
    }
    // A real timer, not the server's clock: this waits on the operating system.
    let timer: NodeJS.Timeout | undefined;
    const released = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, LISTENER_CLOSE_WAIT_MS);
      const events = this.socket.events;
      events.on('close', ({ address }) => {
        addresses.delete(address);
        if (addresses.size === 0) resolve();
      });
      events.on('end', () => resolve());
    });
    this.socket.close();
    await released;
    clearTimeout(timer);
  }

  private loadClientKeys(): Promise<void> {
    if (this.options.curve === undefined) return Promise.resolve();
    this.keysLoaded ??= this.reloadClientKeys();
    return this.keysLoaded;
  }

  private prepare(endpoint: string): void {
    if (needsIpv6(endpoint) && !this.socket.ipv6) this.socket.ipv6 = true;
  }

  private startReading(): void {
    this.reading ??= readLoop(
      this.socket,
      (frames) => this.read(frames),
      (error, during) =>
        // A receive failure, or a bug of ours, not the peer's: keep serving the others.
        this.options.logger.error(
          during === 'receive'
            ? 'zrpc server: receive failed'
            : 'zrpc server: failed to handle a message',
          error,
        ),
    );
  }

  private read(frames: Buffer[]): void {
    // Several events from a zrpc client (docs/EXTENSIONS.md): each is read
    // as if it had come alone, from the same peer.
    const start = batchStart(frames);
    if (start > 0) {
      // A zrpc client sends at most BATCH_EVENTS: more is no client of ours,
      // and is dropped whole rather than read event by event.
      if (frames.length - start > BATCH_EVENTS) {
        this.bad(`a batch of ${frames.length - start} events, over ${BATCH_EVENTS}`);
        return;
      }
      const identity = frames.slice(0, start - 1);
      for (let i = start; i < frames.length; i++) this.readEvent(identity, frames[i]!);
      return;
    }
    const envelope = openEnvelope(frames);
    if (envelope === undefined || envelope.identity.length === 0) {
      this.bad('a message without payload');
      return;
    }
    this.readEvent(envelope.identity, envelope.payload);
  }

  private readEvent(identity: Buffer[], payload: Buffer): void {
    if (payload.length === 0) {
      this.bad('a message without payload');
      return;
    }
    let event: ZEvent;
    try {
      event = decodeEvent(payload);
    } catch (error) {
      this.bad((error as Error).message);
      this.unreadable(identity, payload, error as Error);
      return;
    }
    this.arrivals.event(identity, event, payload.length);
  }

  /**
   * A request whose args could not be decoded but whose id can be read is
   * answered with an ERR naming the reason: its caller need not wait for its
   * timeout. (An event on a channel, or one whose id is unreadable, is only counted.)
   */
  private unreadable(identity: Buffer[], payload: Buffer, error: Error): void {
    const head = readableHead(payload);
    if (head === undefined || head.header.response_to !== undefined) return;
    if (head.name.startsWith('_zpc_')) return;
    const reason = new ProtocolError(
      `cannot decode the request for ${head.name}: ${error.message}`,
    );
    this.arrivals.unreadableRequest(identity, { ...head, args: null }, payload.length, reason);
  }

  private bad(detail: string): void {
    this.counters.badFrames++;
    this.badInput.note('badFrames', detail);
  }
}

/**
 * The frames of a message to `identity`: the routing frames, the empty
 * delimiter (but for a zrpc client, which reads a message without one: see
 * docs/EXTENSIONS.md), the payload.
 */
function framesOf(
  identity: readonly Buffer[],
  payload: Uint8Array,
  zrpcPeer: boolean,
): Array<Buffer | Uint8Array> {
  if (identity.length === 1) {
    return zrpcPeer ? [identity[0]!, payload] : [identity[0]!, EMPTY, payload];
  }
  return zrpcPeer ? [...identity, payload] : [...identity, EMPTY, payload];
}

/**
 * With the ipv6 option on, ZeroMQ reports an IPv4 bind as an IPv4-mapped
 * IPv6 address (`tcp://[::ffff:127.0.0.1]:4242`); give it back as plain IPv4,
 * which every client can connect to.
 */
function unmapped(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/\[::ffff:(\d+\.\d+\.\d+\.\d+)\]/, 'tcp://$1');
}
