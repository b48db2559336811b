import type {
  CallEnd,
  ComposedMiddleware,
  MessageId,
  MethodSpec,
  ServerCallContext,
} from '@zrpc/core';
import type { ChannelTimers, EventHeader, SendQueue } from '@zrpc/core/protocol';
import type { Limiter } from './limiter.js';
import type { PeerKey } from './multiplexer.js';
import type { WorkerPool } from './worker-pool.js';

/** A method as a call finds it. Built-ins skip the limiter and the middleware. */
export interface ResolvedMethod {
  spec: MethodSpec;
  builtin: boolean;
}

/** A call as the dispatcher routes it: by its peer and channel id. */
export interface RoutedCall {
  readonly peer: PeerKey;
  readonly key: string;
}

/** What a call needs from the server that runs it (tests give a fake one). */
export interface CallHost {
  readonly heartbeatMs: number;
  /** See `ServerOptions.assumedPeerHeartbeatMs` (default: `heartbeatMs`). */
  readonly assumedPeerHeartbeatMs?: number;
  /** The clock calls read and the timers that drive their channels. */
  readonly timers: ChannelTimers;
  readonly tracebacks: boolean;
  /** An ERR went out without the traceback of `error`: the server's log keeps it. */
  withheld?(ctx: ServerCallContext, error: Error): void;
  /** The middleware chain; undefined when there is none. */
  readonly middleware: ComposedMiddleware<ServerCallContext> | undefined;
  readonly limiter: Limiter;
  readonly sendQueue: Pick<SendQueue<unknown>, 'size' | 'highWater' | 'room'>;
  resolve(method: string): ResolvedMethod | undefined;
  /** A fresh id for an event the server sends; a short one for a zrpc client (`zrpcPeer`). */
  nextMessageId(zrpcPeer: boolean): MessageId;
  /** Encode one event and queue it for the peer: its size in bytes; throws when it cannot be encoded. */
  send(
    identity: readonly Buffer[],
    header: EventHeader,
    name: string,
    args: unknown,
    zrpcPeer?: boolean,
  ): number;
  /** The network sent something that makes no sense here. */
  badInput(kind: 'badEvents', detail: string): void;
  /** A call that outlived its first turn (and so was routed) is over: forget its channel. */
  closed(call: RoutedCall): void;
  /** Every call ends here once, however it ended (absent: nobody listens). */
  ended?(end: CallEnd): void;
  /** Runs the methods registered with `{ worker }` (absent: such a method fails). */
  readonly workers?: Pick<WorkerPool, 'run' | 'stream'>;
  /** A handler that held the event loop longer than `blockWarnMs` in one go (absent: not measured). */
  blockedLoop?(method: string, ms: number): void;
  readonly blockWarnMs?: number;
}
