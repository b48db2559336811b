import { ServerBusyError } from './errors.js';
import type { PeerKey } from './multiplexer.js';

interface Waiter {
  readonly peer: PeerKey;
  grant: () => void;
  refuse: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * The server's slots (the gevent pool of the reference server), shared
 * fairly between peers:
 *
 * - at most `concurrency` calls run at once; up to `queueLimit` more wait;
 * - work-conserving: a lone busy peer may take every free slot but the last
 *   `reserve`, which are kept for the next peer that arrives (calls cannot
 *   be preempted, so without a reserve one peer's long calls would lock the
 *   others out until they end). A peer running fewer than `reserve` calls
 *   may take any free slot;
 * - while calls wait, each freed slot goes to the waiting peer that runs
 *   fewest calls, the least recently served among equals (FIFO within a peer), never to
 *   whoever asks most;
 * - when the queue is full, the peer with the longest queue gives up its
 *   newest waiter (`ServerBusyError`) to make room for a peer with fewer.
 *
 * Each slot taken must be given back with `release(peer)` exactly once.
 */
/** Beyond this many peers known, an idle peer's record is dropped rather than kept for its next call. */
const IDLE_PEERS_KEPT = 1024;

export class Limiter {
  private active = 0;
  private waiting = 0;
  private grants = 0;
  /** Per peer with calls running: how many, and when it last got a slot (a grant count). */
  /**
   * Per peer: calls running, and when it was last granted a slot. A peer
   * with none running and none waiting is forgotten (its `lastGrant` 0, as
   * for a peer never seen); the record is kept for its next call rather
   * than made again, unless many peers are idle.
   */
  private readonly runningByPeer = new Map<PeerKey, { count: number; lastGrant: number }>();
  /** Waiters per peer, FIFO. */
  private readonly queues = new Map<PeerKey, Set<Waiter>>();

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
    /** Slots a busy peer leaves free for others (default a tenth of `concurrency`). */
    readonly reserve = Math.floor(concurrency / 10),
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting;
  }

  /** Calls `peer` runs now. */
  runningOf(peer: PeerKey): number {
    return this.runningByPeer.get(peer)?.count ?? 0;
  }

  /**
   * Take a slot for a call of `peer`: `true` at once when it may start (the
   * common case, no promise), else a place in the peer's queue that resolves
   * with the slot. Throws `ServerBusyError` when the queue is full; the
   * queued promise rejects with the signal's reason if it aborts first, or
   * with `ServerBusyError` if the call is pushed out by a fairer claim.
   */
  acquire(peer: PeerKey, call: { readonly signal: AbortSignal }): true | Promise<void> {
    if (this.waiting === 0 && this.mayStart(peer)) {
      this.start(peer);
      return true;
    }
    if (this.waiting >= this.queueLimit && !this.pushOutFor(peer)) throw this.busy();
    const signal = call.signal;
    if (signal.aborted) throw signal.reason;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        peer,
        grant: resolve,
        refuse: reject,
        signal,
        onAbort: () => {
          this.dequeue(waiter);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      let queue = this.queues.get(peer);
      if (queue === undefined) this.queues.set(peer, (queue = new Set()));
      queue.add(waiter);
      this.waiting++;
      // A slot may be free that this peer could not take but another can.
      this.grantFreeSlots();
    });
  }

  /** `peer` has nothing running or waiting: it ranks as a new peer from now on. */
  private forget(peer: PeerKey, running: { lastGrant: number }): void {
    running.lastGrant = 0;
    if (this.runningByPeer.size > IDLE_PEERS_KEPT) this.runningByPeer.delete(peer);
  }

  /** Give back a slot `peer` held: waiting peers take it in turn. */
  release(peer: PeerKey): void {
    this.active--;
    const running = this.runningByPeer.get(peer)!;
    // A peer with calls waiting keeps its place in the round.
    if (--running.count === 0 && !this.queues.has(peer)) this.forget(peer, running);
    if (this.waiting > 0) this.grantFreeSlots();
  }

  private mayStart(peer: PeerKey): boolean {
    const free = this.concurrency - this.active;
    return free > 0 && (this.runningOf(peer) < this.reserve || free > this.reserve);
  }

  private start(peer: PeerKey): void {
    this.active++;
    const running = this.runningByPeer.get(peer);
    if (running === undefined) this.runningByPeer.set(peer, { count: 1, lastGrant: ++this.grants });
    else {
      running.count++;
      running.lastGrant = ++this.grants;
    }
  }

  /**
   * Hand free slots to waiting peers, each to the waiting peer that runs
   * fewest calls (among equals, the one served least recently), as long as
   * one may start.
   */
  private grantFreeSlots(): void {
    while (this.active < this.concurrency && this.waiting > 0) {
      let chosen: PeerKey | undefined;
      let best = [Number.POSITIVE_INFINITY, 0];
      for (const peer of this.queues.keys()) {
        const running = this.runningByPeer.get(peer);
        const rank = [running?.count ?? 0, running?.lastGrant ?? 0];
        const better = rank[0]! < best[0]! || (rank[0] === best[0] && rank[1]! < best[1]!);
        if (better && this.mayStart(peer)) {
          chosen = peer;
          best = rank;
        }
      }
      if (chosen === undefined) return;
      const waiter = this.queues.get(chosen)!.values().next().value!;
      this.dequeue(waiter);
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.start(chosen);
      waiter.grant();
    }
  }

  /** The queue is full: the longest queue, if longer than `peer`'s, gives up its newest waiter. */
  private pushOutFor(peer: PeerKey): boolean {
    let longest: Set<Waiter> | undefined;
    for (const queue of this.queues.values()) {
      if (longest === undefined || queue.size > longest.size) longest = queue;
    }
    const own = this.queues.get(peer)?.size ?? 0;
    if (longest === undefined || longest.size <= own + 1) return false;
    const newest = [...longest].at(-1)!;
    this.dequeue(newest);
    newest.signal.removeEventListener('abort', newest.onAbort);
    newest.refuse(this.busy());
    return true;
  }

  private dequeue(waiter: Waiter): void {
    const queue = this.queues.get(waiter.peer);
    if (!queue?.delete(waiter)) return;
    this.waiting--;
    if (queue.size > 0) return;
    this.queues.delete(waiter.peer);
    const running = this.runningByPeer.get(waiter.peer);
    if (running?.count === 0) this.forget(waiter.peer, running);
  }

  private busy(): ServerBusyError {
    return new ServerBusyError(
      `server busy: ${this.active} calls running and ${this.waiting} waiting ` +
        `(concurrency ${this.concurrency}, queueLimit ${this.queueLimit})`,
    );
  }
}
