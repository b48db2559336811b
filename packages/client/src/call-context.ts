import type { ClientCallContext, EventHeader } from '@zrpc/core';

/**
 * The `ClientCallContext` middleware sees. Its AbortSignal and state map
 * are made on first use: most calls never touch them, and an
 * AbortController per call is a measurable share of a call's cost.
 */
export class ClientCall implements ClientCallContext {
  readonly side = 'client';
  result?: unknown;
  replyHeader?: Readonly<EventHeader>;
  /** Why the call was abandoned, once it was. */
  private abandonedBy: { error: unknown } | undefined;
  private controller: AbortController | undefined;
  private stateMap: Map<unknown, unknown> | undefined;

  constructor(
    readonly method: string,
    readonly args: readonly unknown[],
    readonly taskContext: Record<string, unknown>,
    readonly timeoutMs: number,
    readonly heartbeatMs: number,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abandonedBy !== undefined) this.controller.abort(this.abandonedBy.error);
    }
    return this.controller.signal;
  }

  get state(): Map<unknown, unknown> {
    this.stateMap ??= new Map();
    return this.stateMap;
  }

  /** The call was abandoned (lost remote, timeout, abort, close): fire the signal. */
  abandon(error: unknown): void {
    if (this.abandonedBy !== undefined) return;
    this.abandonedBy = { error };
    this.controller?.abort(error);
  }
}
