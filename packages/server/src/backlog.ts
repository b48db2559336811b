import { type Moves, move } from '@zrpc/core/protocol';
import type { PeerKey } from './multiplexer.js';

/** One message on its way to a peer, with the bytes it counts against the budgets. */
export interface Outgoing {
  readonly frames: Array<Buffer | Uint8Array>;
  readonly bytes: number;
  readonly backlog: Backlog;
}

/**
 * Where a peer's messages stand with ZeroMQ:
 * - `flowing`: ZeroMQ takes them as they come;
 * - `blocked`: it refused one (the peer's pipe is full): that one and every
 *   later one wait here, in order from `head`, for the outbox's retries;
 * - `gone`: ZeroMQ has no route to the peer; what comes for it is dropped.
 */
type BacklogPhase =
  | { readonly name: 'flowing' }
  | { readonly name: 'blocked'; waiting: Outgoing[]; head: number }
  | { readonly name: 'gone' };

export const BACKLOG_MOVES: Moves<BacklogPhase['name']> = {
  flowing: ['blocked', 'gone'],
  blocked: ['flowing', 'gone'],
  gone: [],
};

const FLOWING: BacklogPhase = Object.freeze({ name: 'flowing' });
const GONE: BacklogPhase = Object.freeze({ name: 'gone' });

/** What the server holds for one peer, from `push` until ZeroMQ takes it. */
export class Backlog {
  /** Bytes pushed for this peer and not yet taken by ZeroMQ (queued or waiting), each message's overhead included. */
  bytes = 0;
  /** Bytes of small events queued past a budget since messages began to wait (at most the outbox's allowance). */
  overdraft = 0;
  private phase: BacklogPhase = FLOWING;

  constructor(
    readonly peer: PeerKey,
    readonly identity: readonly Buffer[],
  ) {}

  get flowing(): boolean {
    return this.phase.name === 'flowing';
  }

  get gone(): boolean {
    return this.phase.name === 'gone';
  }

  /** The first message waiting, if the peer is blocked. */
  get first(): Outgoing | undefined {
    const phase = this.phase;
    return phase.name === 'blocked' ? phase.waiting[phase.head] : undefined;
  }

  /** ZeroMQ refused `out`: it and what follows wait from now on. */
  block(out: Outgoing): void {
    this.to({ name: 'blocked', waiting: [out], head: 0 });
  }

  /** Queue `out` behind the messages waiting (the peer is blocked). */
  wait(out: Outgoing): void {
    const phase = this.phase;
    if (phase.name !== 'blocked') throw new Error(`a ${phase.name} backlog has no queue`);
    phase.waiting.push(out);
  }

  /** The first waiting message left (taken or dropped); answers whether the peer flows again. */
  shift(): boolean {
    const phase = this.phase;
    if (phase.name !== 'blocked') throw new Error(`a ${phase.name} backlog has no queue`);
    phase.waiting[phase.head++] = undefined as unknown as Outgoing;
    if (phase.head === phase.waiting.length) {
      this.overdraft = 0;
      this.to(FLOWING);
      return true;
    }
    // Taking from the front of a long array must not move the rest: compact now and then.
    if (phase.head > 1024 && phase.head * 2 > phase.waiting.length) {
      phase.waiting = phase.waiting.slice(phase.head);
      phase.head = 0;
    }
    return false;
  }

  /** The peer is gone: answers what was waiting, for the outbox to release. */
  drop(): Outgoing[] {
    const phase = this.phase;
    const dropped = phase.name === 'blocked' ? phase.waiting.slice(phase.head) : [];
    if (phase.name !== 'gone') this.to(GONE);
    return dropped;
  }

  private to(next: BacklogPhase): void {
    this.phase = move('a peer backlog', BACKLOG_MOVES, this.phase, next);
  }
}
