/**
 * The waits of one call, cut short when the call is aborted: at most one
 * is in progress at a time (a call waits for one thing at once), so an
 * abort rejects it through one stored hook rather than a listener per wait.
 */
export class AbortableWaits {
  private cancel: ((reason: unknown) => void) | undefined;

  constructor(
    /** The call's context: why the call was aborted, once it was. */
    private readonly call: { readonly abortReason: Error | undefined },
  ) {}

  /** Like `new Promise(executor)`, but rejected at once with the abort reason on abort. */
  wait<T>(
    executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Still run the executor when already aborted: user code it waits
      // for must be seen to settle.
      const reason = this.call.abortReason;
      if (reason !== undefined) reject(reason);
      else this.cancel = reject;
      executor(resolve, reject);
    });
  }

  /** Reject the wait in progress, if any. */
  abort(reason: Error): void {
    const cancel = this.cancel;
    this.cancel = undefined;
    cancel?.(reason);
  }
}
