import { STREAM, Turns } from '@zrpc/core/protocol';
import { SendBudgetError } from './errors.js';
import { isPromiseLike, messageOf } from './values.js';

/** What a stream method's call offers the pump that sends its items. */
export interface StreamOutlet {
  /** The method's name, for error messages. */
  readonly method: string;
  readonly aborted: boolean;
  throwIfAborted(): void;
  /** Whether the client can take one more event now and the send queue has room. */
  canWrite(): boolean;
  /** Resolves once `canWrite()`; rejects when the call is aborted meanwhile. */
  whenWritable(): Promise<void>;
  /** Wait for a promise of user code (counted as running user code); rejects at once on abort. */
  userCode<T>(promise: PromiseLike<T>): Promise<T>;
  /** Send one application event on the call's channel, spending one credit. */
  send(name: string, args: unknown): void;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/**
 * Send the items of a stream method one by one, pulling the next item only
 * when the client has granted room for it and the send queue has room: a
 * slow reader slows the producer, nothing is drained into memory. Resolves
 * after the last item (the caller then sends STREAM_DONE); rejects with the
 * producer's error or the abort reason, after closing the iterator.
 */
export async function pumpStream(call: StreamOutlet, produced: unknown): Promise<void> {
  const source = isPromiseLike(produced) ? await call.userCode(produced) : produced;
  const iterator = openIterator(source, call.method);
  let finished = false;
  // With credit in hand, every await here settles as a microtask: see Turns.
  const turns = new Turns();
  try {
    for (;;) {
      if (!call.canWrite()) await call.whenWritable();
      const turn = turns.due();
      if (turn !== undefined) {
        await turn;
        if (!call.canWrite()) continue;
      }
      const next = iterator.next();
      const step = isPromiseLike(next) ? await call.userCode(next) : next;
      if (step.done) {
        finished = true;
        return;
      }
      call.throwIfAborted();
      sendItem(call, step.value);
    }
  } finally {
    if (!finished) await closeIterator(call, iterator);
  }
}

/**
 * Stop a generator early (its `finally` runs). One aborted in the middle of
 * an await finishes on its own, its signal having fired: it is not waited
 * for here, only counted as running user code.
 */
function closeIterator(call: StreamOutlet, iterator: AnyIterator): Promise<unknown> | undefined {
  const closing = Promise.resolve().then(() => iterator.return?.());
  if (!call.aborted) return closing;
  call.userCode(closing).catch(() => {});
  return undefined;
}

function sendItem(call: StreamOutlet, item: unknown): void {
  try {
    call.send(STREAM, item);
  } catch (error) {
    // Refused by the send budget: the stream ends with that error as it is.
    if (error instanceof SendBudgetError) throw error;
    throw new TypeError(
      `cannot encode an item of ${call.method}() as msgpack: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

function openIterator(source: unknown, method: string): AnyIterator {
  if (typeof source === 'object' && source !== null) {
    const { [Symbol.asyncIterator]: openAsync, [Symbol.iterator]: openSync } = source as Partial<
      AsyncIterable<unknown> & Iterable<unknown>
    >;
    if (typeof openAsync === 'function') return openAsync.call(source);
    if (typeof openSync === 'function') return openSync.call(source);
  }
  const got = source === null ? 'null' : typeof source;
  throw new TypeError(
    `${method}() is a stream method: it must return an Iterable or AsyncIterable (a generator, say), not ${got}`,
  );
}
