import { Turns } from './turns.js';

const endTurn = (queue: { turnOver(): void }): void => queue.turnOver();

/**
 * ZeroMQ.js allows one pending send per socket. Every send goes through one
 * SendQueue: it keeps order, never has two sends pending, and tells
 * producers to wait (`room()`) when it holds more than `highWater` messages.
 *
 * `send` answers the socket's promise, or undefined when there is nothing
 * to wait for (a message dropped on the way); the queue awaits that promise
 * and nothing else, then tells `sent` or `onError`. A promise `onError`
 * answers (a retry of the message, say) is awaited before the next message goes.
 */
export class SendQueue<M> {
  private items: M[] = [];
  private head = 0;
  private sending = false;
  private waiters: Array<() => void> = [];
  /** Set by the first send of a turn of the event loop, until the turn ends. */
  private turnEnd: NodeJS.Immediate | undefined;
  /** Messages came while the turn's first send was done: they go at its end. */
  private deferred = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly send: (message: M) => Promise<void> | undefined,
    private readonly onError: (error: unknown, message: M) => unknown,
    readonly highWater = 1000,
    private readonly sent?: (message: M) => void,
  ) {}

  /** Messages waiting to be sent. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(message: M): void {
    this.items.push(message);
    if (this.sending) return;
    this.sending = true;
    if (this.turnEnd === undefined) {
      // The first send of this turn of the event loop goes at once...
      this.turnEnd = setImmediate(endTurn, this);
      void this.pump();
    } else {
      // ...and what comes later in the turn, together at its end.
      this.deferred = true;
    }
  }

  /** @internal The turn is over: send what it deferred. */
  turnOver(): void {
    this.turnEnd = undefined;
    if (!this.deferred) return;
    this.deferred = false;
    void this.pump();
  }

  /** Resolves when the queue is below its high-water mark. */
  room(): Promise<void> {
    if (this.size < this.highWater) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when everything queued so far has been handed to the socket. */
  idle(): Promise<void> {
    if (!this.sending && this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.sending = true;
    // A send the socket takes at once settles as a microtask: see Turns.
    const turns = new Turns();
    while (this.head < this.items.length) {
      const turn = turns.due();
      if (turn !== undefined) await turn;
      const message = this.items[this.head]!;
      this.items[this.head] = undefined as M;
      this.head++;
      // Taking a message is what makes room, not finishing its send.
      if (this.waiters.length > 0 && this.size < this.highWater) {
        for (const wake of this.waiters.splice(0)) wake();
      }
      try {
        const sending = this.send(message);
        if (sending !== undefined) {
          await sending;
          this.sent?.(message);
        }
      } catch (err) {
        const retry = this.onError(err, message);
        if (retry instanceof Promise) await retry;
      }
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
    this.items.length = 0;
    this.head = 0;
    this.sending = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
