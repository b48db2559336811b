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
 * Call `ended` once when the consumer is done with `stream`: it read the
 * last item (`error` undefined), left early through `return()`, or got the
 * error that ended it.
 *
 * The client middleware contract hands over a stream when its first reply
 * arrives and says nothing of its end, and the stream object itself must be
 * returned (the client checks its class), so its own `next` and `return`
 * are wrapped in place. Items and errors pass through unchanged.
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
