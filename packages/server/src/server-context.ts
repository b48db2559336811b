import { type EventHeader, type ServerCallContext, taskContextOf } from '@zrpc/core';
import type { ZEvent } from '@zrpc/core/protocol';
import { identityHex } from './multiplexer.js';

/**
 * The `ServerCallContext` of one call. What most calls never touch (the
 * AbortSignal, the state map, the task context, the peer as hex) is made on
 * first use: a server holding ten thousand calls open pays for them only
 * where asked.
 */
export class ServerContext implements ServerCallContext {
  readonly side = 'server';
  readonly method: string;
  readonly args: readonly unknown[];
  readonly header: Readonly<EventHeader>;
  result?: unknown;
  /** Why the call was cancelled, once it is. */
  abortReason: Error | undefined;
  private controller: AbortController | undefined;
  private stateMap: Map<unknown, unknown> | undefined;
  private taskContextMap: Record<string, unknown> | undefined;
  private peerHex: string | undefined;
  private replyHeaderMap: Record<string, unknown> | undefined;

  constructor(
    request: ZEvent,
    private readonly identity: readonly Buffer[],
    readonly stream: boolean,
    public tracebacks: boolean,
  ) {
    this.method = request.name;
    this.args = Array.isArray(request.args) ? request.args : [];
    this.header = request.header;
  }

  /** Keys a middleware adds to every event the server sends on the call (made on first use). */
  get replyHeader(): Record<string, unknown> {
    this.replyHeaderMap ??= {};
    return this.replyHeaderMap;
  }

  /** `replyHeader` if anything may be in it: undefined if no one asked for it. */
  get replyHeaderIfAny(): Readonly<Record<string, unknown>> | undefined {
    return this.replyHeaderMap;
  }

  get peer(): string {
    this.peerHex ??= identityHex(this.identity);
    return this.peerHex;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get state(): Map<unknown, unknown> {
    this.stateMap ??= new Map();
    return this.stateMap;
  }

  get taskContext(): Record<string, unknown> {
    this.taskContextMap ??= taskContextOf(this.header);
    return this.taskContextMap;
  }

  /** Fire the signal (if anyone holds it); only the first reason counts. */
  abort(reason: Error): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
