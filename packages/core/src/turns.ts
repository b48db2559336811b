import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** The longest a loop that keeps finding work runs before it lets the event loop turn, in ms. */
export const TURN_MS = 5;

/**
 * A loop fed by promises that settle at once (a socket's receive while
 * messages keep coming, a send the socket takes at once, a stream with
 * credit in hand) runs on microtasks and never lets the event loop turn:
 * timers (every channel's heartbeat) and other sockets' reads would wait
 * until it stops, and clients of calls still running would declare the
 * process lost. Such a loop asks `due()` once per round and awaits the turn
 * it answers after `TURN_MS` of work.
 */
export class Turns {
  private started = performance.now();

  /** Undefined while the loop may go on; else a promise of the next turn of the event loop. */
  due(): Promise<void> | undefined {
    if (performance.now() - this.started <= TURN_MS) return undefined;
    return nextTurn().then(this.restart);
  }

  private readonly restart = (): void => {
    this.started = performance.now();
  };
}

/** What `readLoop` reads: a zeromq.js socket. */
export interface Readable {
  receive(): Promise<Buffer[]>;
  readonly closed: boolean;
}

/**
 * Read `socket` until it closes, handing each message to `handle` and
 * letting the event loop turn every `TURN_MS` while messages keep coming.
 * A receive that fails while the socket is open, or a `handle` that throws,
 * is reported to `failed` and the loop goes on: one bad message (or one bug
 * of ours) must not stop every other peer's calls. Resolves once the socket
 * is closed.
 */
export async function readLoop(
  socket: Readable,
  handle: (frames: Buffer[]) => void,
  failed: (error: unknown, during: 'receive' | 'handle') => void,
): Promise<void> {
  const turns = new Turns();
  for (;;) {
    const turn = turns.due();
    if (turn !== undefined) await turn;
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (socket.closed) return;
      failed(error, 'receive');
      continue;
    }
    try {
      handle(frames);
    } catch (error) {
      failed(error, 'handle');
    }
    // What the message settled goes first: a caller awaiting a reply in it
    // sends its next request before the socket is asked for the next
    // message (which costs zeromq.js two system calls when nothing has come,
    // and makes every send meanwhile check the socket for input again).
    await undefined;
  }
}
