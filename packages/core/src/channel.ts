import { LostRemoteError } from './errors.js';
import { advertisedHeartbeat, CANCEL, HEARTBEAT, MORE, type ZEvent } from './events.js';
import type { MessageId } from './message-id.js';

/** Most events a remote may have granted and not yet received (see `receive`). */
export const MAX_CREDIT = 1000;

/** What a channel asks its owner to do. The owner does the I/O. */
export interface ChannelSink {
  /** Send an event on this channel (the owner adds message_id, v and response_to). */
  emit(name: string, args: unknown): void;
  /** An application event arrived for this channel. */
  deliver(event: ZEvent): void;
  /** The remote went silent for two heartbeat intervals (the slower side's); the channel is closed. */
  lost(error: LostRemoteError): void;
  /**
   * The remote cancelled the call (`_zpc_cancel`); the channel is closed.
   * A sink without this hook gets the event through `deliver`, as any other.
   */
  cancelled?(): void;
  /** The remote granted credit while the channel had none left. */
  writable?(): void;
}

export interface ChannelOptions {
  /** Heartbeat interval in ms (reference default: 5000). */
  heartbeatMs: number;
  /** The current time in ms, from whatever clock the owner uses. */
  now: number;
  /** How many events this side buffers, and so grants the remote (reference: 100). */
  inputQueueSize?: number;
  /** The interval the remote advertised in its request (`ZRPC_HEARTBEAT_KEY`), if it did. */
  remoteHeartbeatMs?: number;
  /**
   * The interval assumed for a remote that does not advertise its own (a
   * reference peer) until two of its heartbeats show its pace (default: our
   * own, as the reference does). Reference peers send their first heartbeat
   * one of their intervals after the channel opens, so a side faster than
   * its peer would otherwise declare it lost before it ever spoke.
   */
  assumedRemoteHeartbeatMs?: number;
  /**
   * Top the grant up to the full window once fewer than this many granted
   * slots remain unused (reference: half the window, rounded down). The
   * credit a side grants is its own choice; the protocol only bounds what
   * the remote may send.
   */
  topUpBelow?: number;
}

/**
 * One conversation, as a state machine free of sockets and timers
 * (PROTOCOL.md §3, §6, §7). The owner tells it what arrived (`receive`),
 * that the application wants the next event (`pull`) and what time it is
 * (`tick`, due at `deadline`); it answers through its sink.
 *
 * Heartbeats tolerate each other: the remote is declared lost after two
 * intervals of the slower side, the remote's interval being the one it
 * advertised (a zrpc peer, `ZRPC_HEARTBEAT_KEY`) or the one its heartbeats
 * show (a reference peer); this side heart-beats at the faster of its own
 * and an advertised one. Until the remote's pace is known, it is assumed
 * (`assumedRemoteHeartbeatMs`).
 */
export class Channel {
  closed = false;
  /** Events the remote can still take from us before it must grant more. */
  private remoteCredit = 1;
  /** Slots of our input buffer granted to the remote and not yet consumed. */
  private reserved = 1;
  /** False until the first pull: the reference grants nothing for the first event. */
  private pulledOnce = false;
  private lastHeard: number;
  private lastTick: number;
  private nextBeat: number;
  private readonly inputQueueSize: number;
  /** The remote's interval: advertised (a zrpc peer), else learned from its heartbeats. */
  private advertisedMs: number | undefined;
  private learnedMs: number | undefined;
  private lastRemoteBeat: number | undefined;
  private readonly assumedMs: number;
  private readonly topUpBelow: number;
  readonly heartbeatMs: number;

  constructor(
    readonly id: MessageId,
    private readonly sink: ChannelSink,
    options: ChannelOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs;
    this.inputQueueSize = options.inputQueueSize ?? 100;
    this.topUpBelow = options.topUpBelow ?? Math.floor(this.inputQueueSize / 2);
    this.lastHeard = this.lastTick = options.now;
    this.advertisedMs = options.remoteHeartbeatMs;
    this.assumedMs = options.assumedRemoteHeartbeatMs ?? this.heartbeatMs;
    this.nextBeat = options.now + this.beatEvery;
  }

  /** When `tick` must next be called. */
  get deadline(): number {
    return Math.min(this.nextBeat, this.lastHeard + 2 * this.slowerMs);
  }

  /** Whether the remote is a zrpc peer (it advertised its heartbeat): it understands `CANCEL`. */
  get remoteIsZrpc(): boolean {
    return this.advertisedMs !== undefined;
  }

  /** The slower of the two heartbeat intervals, as far as the remote's is known. */
  private get slowerMs(): number {
    return Math.max(this.heartbeatMs, this.advertisedMs ?? this.learnedMs ?? this.assumedMs);
  }

  /** How often this side heart-beats: its own interval, or a faster one the remote asked for. */
  private get beatEvery(): number {
    return Math.min(this.heartbeatMs, this.advertisedMs ?? this.heartbeatMs);
  }

  /** Whether the remote can take one more non-control event now. */
  get canSend(): boolean {
    return !this.closed && this.remoteCredit > 0;
  }

  /** An event for this channel arrived from the remote. */
  receive(event: ZEvent, now: number): void {
    if (this.closed) return;
    this.lastHeard = now;
    const advertised = advertisedHeartbeat(event.header);
    if (advertised !== undefined && advertised !== this.advertisedMs) {
      this.advertisedMs = advertised;
      this.nextBeat = Math.min(this.nextBeat, now + this.beatEvery);
    }
    if (event.name === HEARTBEAT) {
      // A reference peer's pace shows in the gaps between its heartbeats;
      // not in the wait for the first one, which also counts however long
      // the request took to reach us.
      if (this.lastRemoteBeat !== undefined) this.learnedMs = now - this.lastRemoteBeat;
      this.lastRemoteBeat = now;
      return;
    }
    if (event.name === CANCEL && this.sink.cancelled !== undefined) {
      this.closed = true;
      this.sink.cancelled();
      return;
    }
    if (event.name === MORE) {
      const granted = Array.isArray(event.args) ? event.args[0] : undefined;
      if (typeof granted !== 'number' || !Number.isInteger(granted) || granted < 0) return;
      const hadNone = this.remoteCredit <= 0;
      // A peer that grants more than it could ever buffer (the reference
      // grants at most its input queue, 100) would only make us push
      // events into memory that nobody reads: honour up to MAX_CREDIT.
      this.remoteCredit = Math.min(this.remoteCredit + granted, MAX_CREDIT);
      if (hadNone && this.remoteCredit > 0) this.sink.writable?.();
      return;
    }
    this.sink.deliver(event);
  }

  /**
   * Send an application event, spending one credit. Callers check `canSend`
   * first; sending without credit is a bug in the caller, not the remote.
   * If the sink throws (say, args that cannot be encoded), no credit is spent.
   */
  send(name: string, args: unknown): void {
    if (this.closed) throw new Error(`channel is closed; cannot send ${name}`);
    if (this.remoteCredit <= 0) throw new Error(`no credit left to send ${name}`);
    this.sink.emit(name, args);
    this.remoteCredit -= 1;
  }

  /**
   * The application asks for the next event. Grants credit like the
   * reference client: nothing for the first event, then a top-up to the
   * full buffer whenever fewer than `topUpBelow` of its slots remain
   * reserved (by default half: exactly the reference's grants).
   */
  pull(): void {
    if (this.closed) return;
    if (!this.pulledOnce) {
      this.pulledOnce = true;
    } else if (this.reserved < this.topUpBelow) {
      const grant = this.inputQueueSize - this.reserved;
      this.reserved += grant;
      this.sink.emit(MORE, [grant]);
    }
    this.reserved -= 1;
  }

  /** Time passed: send a heartbeat when due, or declare the remote lost. */
  tick(now: number): void {
    if (this.closed) return;
    const slower = this.slowerMs;
    const every = this.beatEvery;
    // A tick far later than any deadline means this process stalled (a busy
    // event loop), not that the remote went silent: its heartbeats may be
    // waiting unread. Give it one more interval instead of declaring it lost.
    if (now - this.lastTick > 1.5 * every) {
      this.lastHeard = Math.max(this.lastHeard, now - slower);
    }
    this.lastTick = now;
    if (now - this.lastHeard >= 2 * slower) {
      this.closed = true;
      this.sink.lost(new LostRemoteError(slower));
      return;
    }
    if (now >= this.nextBeat) {
      this.sink.emit(HEARTBEAT, [0]);
      this.nextBeat += every;
      if (this.nextBeat <= now) this.nextBeat = now + every;
    }
  }

  /** Stop: no more heartbeats, no more deliveries. */
  close(): void {
    this.closed = true;
  }
}
