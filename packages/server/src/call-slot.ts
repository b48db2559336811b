import { type Moves, move } from '@zrpc/core/protocol';
import type { Limiter } from './limiter.js';
import type { PeerKey } from './multiplexer.js';

/**
 * Where a call stands with the server's concurrency limit:
 * - `none`: it took no slot (built-ins, refused calls) or has not asked yet;
 * - `queued`: it waits for one;
 * - `held`: it runs in one;
 * - `draining`: its middleware chain is over, but user code it started
 *   (a handler's promise, a generator step) has not settled: an abort does
 *   not stop that code, so the slot stays taken until it does;
 * - `returned`: the slot went back to the limiter (exactly once).
 */
export type SlotState = 'none' | 'queued' | 'held' | 'draining' | 'returned';

export const SLOT_MOVES: Moves<SlotState> = {
  none: ['queued', 'held'],
  queued: ['held', 'none'],
  held: ['draining', 'returned'],
  draining: ['returned'],
  returned: [],
};

/** One frozen phase object per state: a move allocates nothing. */
const SLOT_PHASES = Object.fromEntries(
  (Object.keys(SLOT_MOVES) as SlotState[]).map((name) => [name, Object.freeze({ name })]),
) as Record<SlotState, { readonly name: SlotState }>;

/** A call's slot, as a small state machine over the server's `Limiter`. */
export class CallSlot {
  private current = SLOT_PHASES.none;
  /** Promises of user code started in this slot and not settled yet. */
  private userPending = 0;

  constructor(
    private readonly limiter: Limiter,
    /** Whose share of the slots this call takes. */
    private readonly peer: PeerKey,
  ) {}

  /**
   * Take a slot: `true` when one was free, else a promise that resolves once
   * the call holds one (it rejects with the abort reason if the call is
   * aborted while it waits). Throws `ServerBusyError` when the queue is full.
   */
  take(call: { readonly signal: AbortSignal }): true | Promise<void> {
    const granted = this.limiter.acquire(this.peer, call);
    if (granted === true) {
      this.to('held');
      return true;
    }
    this.to('queued');
    return granted.then(
      () => {
        this.to('held');
      },
      (error: unknown) => {
        // Aborted, or pushed out of the queue by a peer with a fairer claim.
        this.to('none');
        throw error;
      },
    );
  }

  get state(): SlotState {
    return this.current.name;
  }

  private to(next: SlotState): void {
    this.current = move('a call slot', SLOT_MOVES, this.current, SLOT_PHASES[next]);
  }

  /** User code started in this slot; `userSettled` when its promise settles. */
  userStarted(): void {
    this.userPending++;
  }

  userSettled(): void {
    this.userPending--;
    if (this.state === 'draining' && this.userPending === 0) this.giveBack();
  }

  /** The middleware chain is over: the slot goes back now, or once user code settles. */
  chainEnded(): void {
    if (this.state !== 'held') return;
    if (this.userPending > 0) this.to('draining');
    else this.giveBack();
  }

  private giveBack(): void {
    this.to('returned');
    this.limiter.release(this.peer);
  }
}
