import { performance } from 'node:perf_hooks';
import { fitsInBatch, SendQueue } from '@zrpc/core/protocol';
import type { Router } from 'zeromq';
import { Backlog, type Outgoing } from './backlog.js';
import { SendBudgetError } from './errors.js';
import { identityHex, type PeerKey } from './multiplexer.js';

/** Bytes a server may hold for sending that ZeroMQ has not taken yet (see `ServerOptions.sendBudget`). */
export interface SendBudget {
  /** For one peer (default 64 MiB). */
  perPeerBytes?: number;
  /** For all peers together (default 256 MiB). */
  totalBytes?: number;
}

export const DEFAULT_SEND_BUDGET: Required<SendBudget> = {
  perPeerBytes: 64 * 1024 * 1024,
  totalBytes: 256 * 1024 * 1024,
};

/**
 * How far past the budgets a peer's small events may go (ERR, STREAM_DONE,
 * heartbeats, credit) while its messages wait: the ERR that tells a caller
 * its reply was refused must get through, but a peer that keeps calling and
 * never reads must not grow its queue without bound either. About 300 ERRs
 * without traceback; given again once the peer's waiting messages are gone.
 */
export const SMALL_EVENT_ALLOWANCE = 64 * 1024;

/**
 * What a queued message costs beyond its payload, counted against the
 * budgets with it: its objects (the frames, the routing id, the entry) come
 * to about this much. Without it, a client that never reads a flood of tiny
 * replies held 80 MB of them for 7 MB counted.
 */
export const MESSAGE_OVERHEAD_BYTES = 256;

/**
 * Retries of a peer's waiting messages: first on the next turns of the
 * event loop, each after a pause of `RETRY_PAUSE_US` taken on the main
 * thread, then after MIN ms, doubling while nothing moves, at most MAX.
 * ZeroMQ's I/O thread drains a reading peer's pipe within microseconds,
 * once it gets a core: retrying at once takes that core from it (2 cores,
 * both sides busy), and Node's timers wake a millisecond later at best,
 * long enough for the reader to have read everything and wait (a stream
 * of small items ran at 0.55 of its speed with a pipe of 1000). A 50 µs
 * sleep gives the core away and comes back in time (0.9 of it). The
 * event loop still turns between two retries: other peers are served.
 */
const RETRY_TURNS = 40;
const RETRY_PAUSE_US = 50;
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 64;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/*
 * A zrpc client takes several events in one ZeroMQ message, a frame each
 * (docs/EXTENSIONS.md): what the server has for it in one turn then costs
 * one send and one receive instead of one per event, which is most of what
 * an event costs the main threads. At most BATCH_EVENTS events and
 * BATCH_BYTES bytes a message (each event counted with its overhead, as the
 * budgets count it): a larger event goes alone. ZeroMQ's pipe of 128
 * messages per peer, outside the budgets, then holds at most 4 MiB of
 * batched events for a peer that never reads, or 128 single events as
 * before.
 */

type Frames = Outgoing['frames'];

/** A message events may still join (see `Outbox.open`). */
interface Batch extends Outgoing {
  frames: Frames;
  bytes: number;
  /** The events in it. */
  events: number;
}

/** Queued in the front queue to retry the blocked peers there, in line with every other send. */
const RETRY = Symbol('retry blocked peers');

export interface OutboxEvents {
  /** ZeroMQ took a message. */
  sent(): void;
  /** A send to `peer` (`who`, in hex) found it gone (EHOSTUNREACH): what it had waiting is dropped. */
  gone(peer: PeerKey, who: string): void;
  /** A send failed for another reason: the message is dropped. */
  failed(error: unknown): void;
}

/**
 * Every message the server sends, on its way to a ROUTER set `mandatory`
 * with `sendTimeout: 0`: ZeroMQ then refuses at once (EAGAIN) a message for
 * a peer whose pipe is at its high-water mark, instead of dropping it or
 * waiting, and says EHOSTUNREACH for a peer that is gone. A refused message
 * waits in its peer's own queue (order kept per peer) and is retried on a
 * timer, so that one slow peer never holds up the others. The bytes held
 * for a peer count against its budget and the total: a data event (OK,
 * a stream item) that would exceed one is refused with `SendBudgetError`.
 *
 * The fast path (nothing waits for the peer, ZeroMQ takes the message)
 * costs per message an entry object, a Map lookup, and when the peer had
 * nothing queued, a small Backlog made and forgotten: a constant.
 */
export class Outbox {
  /**
   * Serializes every send, retries included (zeromq.js allows one pending
   * send), and lets timers run.
   */
  readonly front: SendQueue<Outgoing | typeof RETRY>;
  private readonly backlogs = new Map<PeerKey, Backlog>();
  /**
   * The newest message in the front queue, while ZeroMQ has not been
   * offered it and its peer is a zrpc client: that peer's next event joins
   * it (see `BATCH_EVENTS`).
   */
  private open: Batch | undefined;
  private readonly blocked = new Set<Backlog>();
  private totalBytes = 0;
  private peak = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryTurn: NodeJS.Immediate | undefined;
  /** Retries on the next turn in a row that moved nothing. */
  private idleTurns = 0;
  private retryMs = RETRY_MIN_MS;
  private retrying = false;
  private closed = false;
  private readonly budget: Required<SendBudget>;

  constructor(
    private readonly socket: Router,
    budget: Required<SendBudget>,
    private readonly events: OutboxEvents,
  ) {
    this.budget = budget;
    this.front = new SendQueue<Outgoing | typeof RETRY>(
      this.deliver,
      (error, out) => (out === RETRY ? this.events.failed(error) : this.refused(out, error)),
      undefined,
      (out) => {
        if (out !== RETRY) this.taken(out);
      },
    );
  }

  /** Bytes held for all peers now, not yet taken by ZeroMQ. */
  get bytesWaiting(): number {
    return this.totalBytes;
  }

  /** The most `bytesWaiting` has been. */
  get peakBytesWaiting(): number {
    return this.peak;
  }

  /** Bytes held for `peer` now. */
  bytesFor(peer: PeerKey): number {
    return this.backlogs.get(peer)?.bytes ?? 0;
  }

  /**
   * Queue the message `frames` for `peer`. A data event over a budget throws
   * `SendBudgetError` (nothing queued); any other event over a budget goes
   * on the peer's `SMALL_EVENT_ALLOWANCE`, and once that is spent, is
   * dropped: answers false. For a zrpc client (`batchable`: `frames` are
   * its routing frames and the payload), the payload may join the message
   * queued just before it for the same peer.
   */
  push(
    peer: PeerKey,
    identity: readonly Buffer[],
    frames: Frames,
    bytes: number,
    data: boolean,
    batchable = false,
  ): boolean {
    // Closed: the socket is going; nothing is refused for a budget.
    if (this.closed) return true;
    const payloadBytes = bytes;
    bytes += MESSAGE_OVERHEAD_BYTES;
    let backlog = this.backlogs.get(peer);
    if (backlog === undefined) {
      backlog = new Backlog(peer, identity);
      this.backlogs.set(peer, backlog);
    }
    const { perPeerBytes, totalBytes } = this.budget;
    const overPeer = backlog.bytes + bytes > perPeerBytes;
    if (overPeer || this.totalBytes + bytes > totalBytes) {
      if (data) {
        const budget = overPeer
          ? `its per-peer budget (${perPeerBytes} bytes)`
          : `the total budget (${totalBytes} bytes)`;
        throw this.refusal(backlog, payloadBytes, budget);
      }
      if (backlog.overdraft + bytes > SMALL_EVENT_ALLOWANCE) return false;
      backlog.overdraft += bytes;
    }
    backlog.bytes += bytes;
    this.totalBytes += bytes;
    if (this.totalBytes > this.peak) this.peak = this.totalBytes;
    const open = this.open;
    if (
      batchable &&
      open !== undefined &&
      open.backlog === backlog &&
      fitsInBatch(open.events, open.bytes, bytes)
    ) {
      open.frames.push(frames[frames.length - 1]!);
      open.bytes += bytes;
      open.events++;
      return true;
    }
    const out: Batch = { frames, bytes, backlog, events: 1 };
    this.open = batchable ? out : undefined;
    this.front.push(out);
    return true;
  }

  /** Resolves when nothing waits for any peer, or after `ms`. */
  async settled(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (this.blocked.size > 0 && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MAX_MS).unref());
    }
  }

  /** Drop everything still waiting and stop retrying (the socket is closing). */
  close(): void {
    this.closed = true;
    this.open = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearImmediate(this.retryTurn);
    this.retryTurn = undefined;
    for (const backlog of this.backlogs.values()) this.drop(backlog);
  }

  private refusal(backlog: Backlog, bytes: number, budget: string): SendBudgetError {
    const who = identityHex(backlog.identity);
    return new SendBudgetError(
      `a reply of ${bytes} bytes was refused: ${backlog.bytes} bytes are waiting to be sent ` +
        `to peer ${who} (${this.totalBytes} to all peers), over ${budget}; ` +
        'the client is not reading its replies',
    );
  }

  /**
   * The front queue's sender: straight to the socket unless the peer has
   * messages waiting. The socket's promise, settled at once (sendTimeout 0),
   * is the queue's to await: then `taken`, or `refused`.
   */
  private readonly deliver = (out: Outgoing | typeof RETRY): Promise<void> | undefined => {
    if (out === RETRY) return this.retry();
    // Offered to ZeroMQ now (or put to wait): nothing joins it any more.
    if (out === this.open) this.open = undefined;
    const backlog = out.backlog;
    if (backlog.gone || this.closed) {
      this.release(out);
      return undefined;
    }
    if (!backlog.flowing) {
      backlog.wait(out);
      return undefined;
    }
    return this.socket.send(out.frames);
  };

  /** ZeroMQ took `out`. */
  private taken(out: Outgoing): void {
    this.release(out);
    this.events.sent();
  }

  /** `out` leaves the outbox (taken or dropped): its bytes go back. */
  private release(out: Outgoing): void {
    const backlog = out.backlog;
    backlog.bytes -= out.bytes;
    this.totalBytes -= out.bytes;
    if (backlog.bytes === 0 && backlog.flowing) {
      this.backlogs.delete(backlog.peer);
    }
  }

  /** ZeroMQ did not take `out` (sent first, or retried from `waiting`, which it then heads). */
  private refused(out: Outgoing, error: unknown): void {
    const code = (error as { code?: unknown }).code;
    const backlog = out.backlog;
    if (code === 'EAGAIN') {
      if (backlog.flowing) {
        backlog.block(out);
        this.blocked.add(backlog);
        this.scheduleRetry();
      }
    } else if (code === 'EHOSTUNREACH') {
      this.release(out);
      this.drop(backlog);
      this.events.gone(backlog.peer, identityHex(backlog.identity));
    } else {
      this.release(out);
      this.events.failed(error);
    }
  }

  /** Forget `backlog`: what waits in it is dropped, its bytes go back. */
  private drop(backlog: Backlog): void {
    for (const out of backlog.drop()) this.release(out);
    this.blocked.delete(backlog);
    if (this.backlogs.get(backlog.peer) === backlog) this.backlogs.delete(backlog.peer);
  }

  /** The first waiting message of `backlog` left (taken or dropped). */
  private shift(backlog: Backlog): void {
    if (backlog.shift()) this.blocked.delete(backlog);
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.retryTurn !== undefined) return;
    if (this.retrying || this.closed) return;
    if (this.idleTurns < RETRY_TURNS) {
      // A pipe was just found full: let the I/O thread drain it first (see RETRY_PAUSE_US).
      Atomics.wait(pauseCell, 0, 0, RETRY_PAUSE_US / 1000);
      this.retryTurn = setImmediate(this.queueRetry);
    } else {
      this.retryTimer = setTimeout(this.queueRetry, this.retryMs);
    }
  }

  /** Time to retry: in the front queue, behind what is already queued. */
  private readonly queueRetry = (): void => {
    this.retryTimer = undefined;
    this.retryTurn = undefined;
    if (this.closed) return;
    this.retrying = true;
    this.front.push(RETRY);
  };

  /** Offer each blocked peer's waiting messages to ZeroMQ again, in order, until it refuses one. */
  private async retry(): Promise<void> {
    let moved = false;
    for (const backlog of [...this.blocked]) {
      for (let out = backlog.first; out !== undefined && !this.closed; out = backlog.first) {
        try {
          await this.socket.send(out.frames);
        } catch (error) {
          if ((error as { code?: unknown }).code === 'EAGAIN') break;
          this.shift(backlog);
          this.refused(out, error);
          continue;
        }
        moved = true;
        this.shift(backlog);
        this.taken(out);
      }
    }
    this.retrying = false;
    if (moved) {
      this.idleTurns = 0;
      this.retryMs = RETRY_MIN_MS;
    } else if (this.idleTurns < RETRY_TURNS) {
      this.idleTurns++;
    } else {
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
    if (this.blocked.size > 0) this.scheduleRetry();
  }
}
