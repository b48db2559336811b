/** Whether a client call's result is the stream of a streaming method. */
export function isStream(result: unknown): result is AsyncIterator<unknown> {
  return (
    typeof result === 'object' &&
    result !== null &&
    typeof (result as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function' &&
    typeof (result as Partial<AsyncIterator<unknown>>).next === 'function'
  );
}

/**
 * Call `ended` once, when the consumer is done with `stream`: it read past
 * the last item (no error), left the loop early (`return()`, no error), or
 * got the error that ended the stream.
 *
 * A client middleware gets a stream at its first reply and hears nothing
 * of its end; it cannot hand back a wrapper either (the client returns the
 * stream object itself, whose class callers check). So the stream's own
 * `next` and `return` are wrapped in place; items and errors pass through
 * unchanged.
 */
export function onStreamEnd(
  stream: AsyncIterator<unknown>,
  ended: (error?: unknown) => void,
): void {
  let over = false;
  const end = (error?: unknown) => {
    if (over) return;
    over = true;
    ended(error);
  };
  const next = stream.next;
  const leave = stream.return;
  stream.next = function (this: AsyncIterator<unknown>, ...args: [] | [unknown]) {
    return next.apply(this, args).then(
      (step) => {
        if (step.done) end();
        return step;
      },
      (error: unknown) => {
        end(error);
        throw error;
      },
    );
  };
  if (leave !== undefined) {
    stream.return = function (this: AsyncIterator<unknown>, value?: unknown) {
      end();
      return leave.call(this, value);
    };
  }
}
