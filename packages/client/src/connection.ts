import { setTimeout as delay } from 'node:timers/promises';
import type { Clock, ClockTimer } from '@zrpc/core';
import {
  advertisedHeartbeat,
  BATCH_EVENTS,
  BATCH_MARKER,
  decodeEvent,
  fitsInBatch,
  isBatch,
  MessageIdGenerator,
  needsIpv6,
  payloadOf,
  readLoop,
  SendQueue,
  type ZEvent,
} from '@zrpc/core/protocol';
import { Dealer, type SocketOptions } from 'zeromq';
import { ClientClosedError } from './errors.js';
import { ServerLeaving } from './server-leaving.js';

/** The zeromq.js options of a client's DEALER socket. */
export type ClientSocketOptions = SocketOptions<Dealer>;

/** The receiving end of one channel, as the connection sees it. */
export interface Route {
  /** An event whose `response_to` names this channel arrived (`bytes`: its size). */
  receive(event: ZEvent, bytes: number): void;
  /** The connection is closing: end the conversation with `error`. */
  abandon(error: Error): void;
  /** The connection to the server dropped while the conversation was open: it is lost. */
  dropped(): void;
}

/** One message for the socket, with hooks for the conversation it belongs to. */
export interface Outgoing {
  payload: Uint8Array;
  /** False once the conversation ended: a message still queued then is not sent. */
  wanted(): boolean;
  /** The socket took the message (it is on its way to a server). */
  sent?(): void;
  /** The socket refused the message (it was closed). */
  failed?(error: unknown): void;
  /**
   * The server is out of rotation and the message was never handed to the
   * socket: answer true to take it back (the call moves to another server).
   */
  reroute?(): boolean;
}

/** What the connection tells its owner about the server at the other end. */
export interface ConnectionEvents {
  /** The ZMTP handshake completed: the server is reachable. */
  up(): void;
  /** The connection dropped, or an attempt to connect failed. */
  down(): void;
}

const DELIMITER = Buffer.alloc(0);

/**
 * Messages for a zrpc server queued in one turn, sent as one ZeroMQ message
 * (`[BATCH_MARKER, payload, ...]`, docs/EXTENSIONS.md): one send and one
 * receive for what would be one each. The members keep their own hooks.
 */
class Batch implements Outgoing {
  readonly payload = DELIMITER;
  bytes: number;

  constructor(public messages: Outgoing[]) {
    this.bytes = messages[0]!.payload.length;
  }

  wanted(): boolean {
    return this.messages.some((message) => message.wanted());
  }

  sent(): void {
    for (const message of this.messages) message.sent?.();
  }

  failed(error: unknown): void {
    for (const message of this.messages) message.failed?.(error);
  }
}
/**
 * After the connection drops, how long replies that arrived before the drop
 * get to be read before the calls still open are failed (the drop is
 * reported apart from the messages, and may overtake them).
 */
const DROP_GRACE_MS = 100;
/** Pauses between attempts to send while no server can take the message: 1, 2, 4... up to 100 ms. */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 100;

// Decoded bin values are views of the frame: make them plain Uint8Arrays
// (msgpack bin), not Buffers that merely happen to come from zeromq.
const plainBytes = (frame: Buffer): Uint8Array =>
  new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);

/**
 * One DEALER socket connected to one server address, shared by every call
 * sent there: it sends through one SendQueue (zeromq.js allows one pending
 * send per socket) and one receive loop routes each reply to its channel by
 * `response_to`. A channel's heartbeats, credit and cancellation go out on
 * the socket its request took, so they reach the server that runs it (one
 * DEALER connected to several servers would deal them out in turn).
 */
export class Connection {
  /** Events that named no open channel (late replies after a timeout, say) or were not events. */
  droppedEvents = 0;
  private isClosed = false;
  private readonly socket: Dealer;
  private readonly queue: SendQueue<Outgoing>;
  /** Open calls by the counter of their message id (see `MessageIdGenerator.counterOf`). */
  private readonly routes = new Map<number, Route>();
  private readonly ids = new MessageIdGenerator();
  private readonly dropsCalls: boolean;
  /** The calls open at the last drop, failed when the grace ends (see `DROP_GRACE_MS`). */
  private doomed = new Set<Route>();
  private dropTimer: ClockTimer | undefined;
  /** The newest batch queued, until the socket is offered it: the next message may join it. */
  private openBatch: Batch | undefined;

  /** False while the owner holds the server out of rotation (see `reroute`). */
  inRotation = true;
  /** Its drops and comebacks, for calls that wait while its server leaves. */
  readonly leaving: ServerLeaving;
  /**
   * A server took this connection once: its handshake was seen, or the
   * socket accepted a message (with `immediate`, it takes one only over a
   * completed connection; the handshake event can be missed when it comes
   * before the socket's monitor starts).
   */
  reached = false;
  /**
   * The heartbeat interval the server advertised (`ZRPC_HEARTBEAT_KEY`) on
   * its latest reply since the connection last came up: a zrpc server, which
   * understands `_zpc_cancel` and beats at that pace on every call, even one
   * it has not answered yet. Undefined: not known (a new connection may
   * reach another server).
   */
  serverHeartbeatMs: number | undefined;

  constructor(
    readonly endpoint: string,
    private readonly clock: Clock,
    socketOptions: ClientSocketOptions = {},
    events?: ConnectionEvents,
  ) {
    this.leaving = new ServerLeaving(clock);
    // immediate: queue only to completed connections, so a dead endpoint
    // never swallows requests and a call with no server fails clearly.
    // sendTimeout 0: a send either goes out at once or fails, never waits
    // (see write). linger 0: closing never waits for a server that is gone.
    this.socket = new Dealer({ immediate: true, sendTimeout: 0, linger: 0, ...socketOptions });
    this.queue = new SendQueue(
      (message) => this.write(message),
      (error, message) => this.refused(message, error),
      undefined,
      (message) => this.sent(message),
    );
    if (needsIpv6(endpoint)) this.socket.ipv6 = true;
    try {
      this.socket.connect(endpoint);
    } catch (error) {
      this.isClosed = true;
      this.socket.close();
      throw new TypeError(`invalid endpoint "${endpoint}": ${(error as Error).message}`, {
        cause: error,
      });
    }
    // A DEALER that connects again is a new peer to the server (a new
    // routing id), so replies on the channels open at a drop can no longer
    // reach it. With a routing id of its own choosing it is the same peer
    // again: then its calls are left to their heartbeats.
    this.dropsCalls = socketOptions.routingId === undefined;
    const observer = this.socket.events;
    observer.on('handshake', () => {
      this.reached = true;
      this.leaving.up();
      events?.up();
    });
    observer.on('disconnect', () => {
      this.serverHeartbeatMs = undefined;
      this.leaving.down();
      this.dropped();
      events?.down();
    });
    observer.on('connect:retry', () => events?.down());
    void readLoop(
      this.socket,
      (frames) => this.dispatch(frames),
      (error) => {
        // Not expected while the socket is open; if it happens, fail every
        // call clearly rather than let them wait for replies nobody reads.
        this.close(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get openChannels(): number {
    return this.routes.size;
  }

  /** A fresh message id, bin like zerorpc-python's. */
  nextId(): Uint8Array {
    return this.ids.next();
  }

  /** Route the replies to `id` (one of `nextId`'s) to `route`; answers the key that `remove` takes. */
  open(id: Uint8Array, route: Route): number {
    if (this.isClosed) throw new ClientClosedError();
    const key = this.ids.counterOf(id)!;
    this.routes.set(key, route);
    return key;
  }

  remove(key: number): void {
    this.routes.delete(key);
  }

  /**
   * Queue an encoded event for the socket. For a zrpc server, it joins the
   * batch queued just before it, if there is still room (`BATCH_EVENTS`,
   * `BATCH_BYTES`), or starts one.
   */
  send(message: Outgoing): void {
    if (this.serverHeartbeatMs === undefined) {
      this.queue.push(message);
      return;
    }
    const open = this.openBatch;
    const bytes = message.payload.length;
    if (open !== undefined && fitsInBatch(open.messages.length, open.bytes, bytes)) {
      open.messages.push(message);
      open.bytes += bytes;
      return;
    }
    const batch = new Batch([message]);
    this.openBatch = batch;
    this.queue.push(batch);
  }

  /** End every open conversation with `error`, then close the socket. */
  close(error: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.leaving.close();
    this.clock.clearTimeout(this.dropTimer);
    this.doomed.clear();
    for (const route of [...this.routes.values()]) route.abandon(error);
    this.routes.clear();
    this.socket.close();
  }

  /** The connection dropped: the calls open now are lost, once what already arrived is read. */
  private dropped(): void {
    if (!this.dropsCalls || this.routes.size === 0) return;
    for (const route of this.routes.values()) this.doomed.add(route);
    this.dropTimer ??= this.clock.setTimeout(
      () => {
        this.dropTimer = undefined;
        const doomed = this.doomed;
        this.doomed = new Set();
        for (const route of doomed) route.dropped();
      },
      DROP_GRACE_MS,
      undefined,
    );
  }

  /**
   * Hand a message to the socket, if its call still wants it: the socket's
   * promise, settled at once (sendTimeout 0), or undefined for a message
   * dropped or taken back.
   */
  private write(message: Outgoing): Promise<void> | undefined {
    if (message instanceof Batch) return this.writeBatch(message);
    if (!message.wanted()) return undefined;
    if (!this.inRotation && message.reroute?.()) return undefined;
    // A zrpc server reads a message without the empty delimiter frame (one
    // frame fewer to send and to receive: see docs/EXTENSIONS.md); one that
    // has not said it is one gets the reference's envelope.
    if (this.serverHeartbeatMs !== undefined) return this.socket.send(message.payload);
    return this.socket.send([DELIMITER, message.payload]);
  }

  /**
   * `write` for a batch: its members still wanted (and not taken back) go
   * in one message, or alone when one is left; each with the delimiter, one
   * after the other, if the server is no longer known to be a zrpc server
   * (the connection dropped since they were queued).
   */
  private writeBatch(batch: Batch): Promise<void> | undefined {
    // Offered to the socket now: nothing joins it any more.
    if (batch === this.openBatch) this.openBatch = undefined;
    // Those no longer wanted (or taken back) leave, in place: no array per batch.
    const { messages } = batch;
    let kept = 0;
    for (const message of messages) {
      if (message.wanted() && (this.inRotation || !message.reroute?.())) messages[kept++] = message;
    }
    messages.length = kept;
    if (kept === 0) return undefined;
    if (this.serverHeartbeatMs === undefined) return this.writeEach(batch);
    if (messages.length === 1) return this.socket.send(messages[0]!.payload);
    const frames = [BATCH_MARKER];
    for (const message of messages) frames.push(message.payload as Buffer);
    return this.socket.send(frames);
  }

  /**
   * A batch's messages one at a time, each leaving the batch once the
   * socket took it: a refusal (EAGAIN) then retries only those left.
   */
  private async writeEach(batch: Batch): Promise<void> {
    while (batch.messages.length > 0) {
      const message = batch.messages[0]!;
      await this.socket.send([DELIMITER, message.payload]);
      batch.messages.shift();
      this.sent(message);
    }
  }

  /** The socket took a message: a server took this connection. */
  private sent(message: Outgoing): void {
    this.reached = true;
    message.sent?.();
  }

  /**
   * The socket refused a message: no server can take it now (EAGAIN), or the
   * socket is closed. Try again after a pause, doubling, while no server can
   * take it: each attempt succeeds or fails at once, and the pauses are ours,
   * so a message is handed over only while its call still wants it; one
   * whose call ended meanwhile (timeout, abort) is dropped, never sent late.
   * (A send that waited inside zeromq.js could not be taken back.)
   */
  private async refused(message: Outgoing, error: unknown): Promise<void> {
    for (let pause = FIRST_RETRY_MS; ; pause = Math.min(pause * 2, MAX_RETRY_MS)) {
      if ((error as { code?: string }).code !== 'EAGAIN' || this.isClosed) {
        message.failed?.(error);
        return;
      }
      await delay(pause);
      try {
        const sending = this.write(message);
        if (sending === undefined) return;
        await sending;
        this.sent(message);
        return;
      } catch (again) {
        error = again;
      }
    }
  }

  private dispatch(frames: Buffer[]): void {
    if (isBatch(frames)) {
      // A zrpc server sends at most BATCH_EVENTS: more is no server of ours.
      if (frames.length > BATCH_EVENTS) {
        this.droppedEvents += frames.length;
        return;
      }
      for (const payload of frames) this.dispatchEvent(payload);
    } else {
      this.dispatchEvent(payloadOf(frames));
    }
  }

  private dispatchEvent(payload: Buffer | undefined): void {
    let event: ZEvent;
    try {
      if (payload === undefined) throw new Error('empty message');
      event = decodeEvent(plainBytes(payload));
    } catch {
      this.droppedEvents++;
      return;
    }
    const key = this.ids.counterOf(event.header.response_to);
    const route = key === undefined ? undefined : this.routes.get(key);
    this.serverHeartbeatMs = advertisedHeartbeat(event.header) ?? this.serverHeartbeatMs;
    if (route === undefined) this.droppedEvents++;
    else route.receive(event, payload.length);
  }
}
