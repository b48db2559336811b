import { ProtocolError } from '@zrpc/core';
import { ERR, remoteErrorOf, STREAM, STREAM_DONE, type ZEvent } from '@zrpc/core/protocol';

/** What a stream needs from the conversation it reads. */
export interface StreamSource {
  /** The consumer asks for the next event: grant `_zpc_more` credit as the reference does. */
  pull(): void;
  /** The consumer is done: close the channel (the server then sees silence). */
  close(): void;
}

/** The result of an iterator that has finished (shared: it is never written to). */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true,
  value: undefined,
});

/**
 * The items of a streamed reply, as an async iterator. Credit is granted
 * only when the consumer asks for the next item, so a slow consumer slows
 * the server down instead of filling memory; what arrived meanwhile waits
 * here. Ends at `STREAM_DONE`, with a `RemoteError` at a mid-stream `ERR`,
 * or with the error that ended the call (lost remote, abort, close).
 */
export class RemoteStream<T = unknown> implements AsyncIterableIterator<T> {
  private readonly buffer: ZEvent[];
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private finished = false;
  // The call itself pulled for the first event.
  private pulled = true;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: StreamSource,
    first: ZEvent,
    /** Resolves once the stream's channel is closed, however the stream ended. */
    readonly ended: Promise<void>,
  ) {
    this.buffer = [first];
  }

  /** Events received and not yet consumed. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** An event arrived on the stream's channel. */
  push(event: ZEvent): void {
    this.buffer.push(event);
    this.wake?.();
  }

  /**
   * The conversation ended with `error`. The consumer gets it after the
   * events already received, or at once (`discard`) when the ending was
   * asked for (abort, close) or the stream was refused (a server past its
   * credit): the events still waiting are dropped, and the next `take()`,
   * whether already waiting or called later, throws `error`.
   */
  fail(error: unknown, discard: boolean): void {
    if (discard) this.buffer.length = 0;
    this.failure = { error };
    this.wake?.();
  }

  next(): Promise<IteratorResult<T>> {
    // Overlapping next() calls each take one event, in order.
    const result = this.turn.then(() => this.take());
    this.turn = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async take(): Promise<IteratorResult<T>> {
    if (this.finished) return DONE;
    if (!this.pulled) this.source.pull();
    this.pulled = false;
    while (this.buffer.length === 0) {
      if (this.finished) return DONE;
      if (this.failure !== undefined) {
        this.finish();
        throw this.failure.error;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    const event = this.buffer.shift()!;
    if (event.name === STREAM) return { done: false, value: event.args as T };
    this.finish();
    if (event.name === STREAM_DONE) return DONE;
    if (event.name === ERR) throw remoteErrorOf(event.args);
    throw new ProtocolError(`unexpected ${event.name} event in a stream`);
  }

  private finish(): void {
    this.finished = true;
    this.buffer.length = 0;
    this.source.close();
    this.wake?.();
  }
}
