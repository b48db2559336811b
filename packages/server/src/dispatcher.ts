import {
  type CallEnd,
  compose,
  type MessageId,
  type Observers,
  type ProtocolError,
  type Registry,
  statusOf,
} from '@zrpc/core';
import {
  advertisedHeartbeat,
  ChannelTimers,
  type Clock,
  type ClockTimer,
  channelHeader,
  ERR,
  errArgs,
  MessageIdGenerator,
  messageIdKey,
  type ZEvent,
} from '@zrpc/core/protocol';
import type { BadInputLog } from './bad-input-log.js';
import { builtinMethods } from './builtins.js';
import type { CallHost, ResolvedMethod, RoutedCall } from './call-host.js';
import {
  PeerGoneError,
  ServerClosingError,
  ServerDrainingError,
  TooManyChannelsError,
} from './errors.js';
import { Limiter } from './limiter.js';
import type { LoopWatch } from './loop-watch.js';
import { identityHex, PeerChannels, type PeerKey, peerKeyOf } from './multiplexer.js';
import { defaultTracebacks, type ResolvedOptions } from './options.js';
import { ServerCall } from './server-call.js';
import type { DispatchCounters } from './stats.js';
import type { Arrivals, Transport } from './transport.js';
import type { WorkerPool } from './worker-pool.js';

/** After the grace period, how long cancelled calls get to send their ERR. */
const CANCEL_SETTLE_MS = 1000;

/**
 * The server's dispatcher room: what arrives as events becomes calls. It
 * routes events to open calls by (peer, channel id), admits or refuses new
 * requests (a server closing, a peer over its channel limit, a stray
 * control event), runs the admitted ones as `ServerCall`s under the fair
 * `Limiter`, reports every request's end to the observers, and drains the
 * calls at shutdown. It knows calls, not sockets: what it sends goes
 * through the transport.
 */
export class Dispatcher implements Arrivals {
  readonly counters: DispatchCounters = { calls: 0, badEvents: 0, unroutable: 0 };
  readonly limiter: Limiter;
  private readonly calls = new PeerChannels<ServerCall>();
  private readonly ids = new MessageIdGenerator();
  private readonly host: CallHost;
  private readonly clock: Clock;
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly transport: Pick<
      Transport,
      'send' | 'sendQueue' | 'endpoints' | 'endpointCount'
    >,
    private readonly observers: Observers,
    private readonly badInput: BadInputLog,
    workers: WorkerPool,
    loopWatch: LoopWatch,
  ) {
    const { registry, logger, tracebacks, clock } = options;
    this.clock = clock;
    this.limiter = new Limiter(options.concurrency, options.queueLimit, options.reservedSlots);
    const builtins = builtinMethods(registry, options.name);
    // The default depends on the endpoints, which only grow: worked out again when they do.
    let defaultFor = { endpoints: -1, tracebacks: false };
    this.host = {
      heartbeatMs: options.heartbeatMs,
      assumedPeerHeartbeatMs: options.assumedPeerHeartbeatMs,
      timers: ChannelTimers.of(clock),
      get tracebacks() {
        if (tracebacks !== undefined) return tracebacks;
        if (defaultFor.endpoints !== transport.endpointCount) {
          const endpoints = transport.endpoints;
          defaultFor = { endpoints: endpoints.length, tracebacks: defaultTracebacks(endpoints) };
        }
        return defaultFor.tracebacks;
      },
      withheld: (ctx, error) =>
        logger.error(
          `zrpc server: ${ctx.method}() failed (traceback not sent to the caller):`,
          error,
        ),
      // No middleware: calls run their handler directly (see ServerCall.runChain).
      middleware: options.middleware.length > 0 ? compose(options.middleware) : undefined,
      limiter: this.limiter,
      sendQueue: transport.sendQueue,
      resolve: (method) => resolveMethod(builtins, registry, method),
      nextMessageId: (zrpcPeer) => this.eventId(zrpcPeer),
      send: (identity, header, name, args, zrpcPeer) =>
        transport.send(identity, header, name, args, zrpcPeer),
      badInput: (kind, detail) => this.bad(kind, detail),
      closed: (call) => this.forget(call),
      ended: (end) => observers.notify(end),
      workers,
      blockWarnMs: loopWatch.thresholdMs,
      blockedLoop: (method, ms) => loopWatch.blocked(method, ms),
    };
  }

  /** Calls open now (each holds a channel). */
  get openChannels(): number {
    return this.calls.size;
  }

  // --- Arrivals: what the transport hands over ---

  event(identity: Buffer[], event: ZEvent, bytes: number): void {
    const peer = peerKeyOf(identity);
    const responseTo = event.header.response_to;
    if (responseTo === undefined) {
      this.open(peer, identity, event, bytes);
      return;
    }
    const call = this.calls.get(peer, messageIdKey(responseTo)!);
    if (call !== undefined) {
      call.channel.receive(event, this.clock.now());
    } else if (event.name.startsWith('_zpc_')) {
      // A heartbeat or a grant crossing the final reply is normal: counted, not logged.
      this.counters.unroutable++;
    } else {
      this.bad('unroutable', `a ${event.name} event for no open channel`);
    }
  }

  unreadableRequest(identity: Buffer[], head: ZEvent, bytes: number, reason: ProtocolError): void {
    this.refuse(identity, head, bytes, reason);
  }

  /** ZeroMQ has no route to `peer`: its calls are lost now (their replies could not go anywhere). */
  gone(peer: PeerKey, who: string): void {
    const calls = this.calls.valuesOf(peer);
    if (calls.length === 0) return;
    const reason = new PeerGoneError(who, this.options.heartbeatMs);
    for (const call of calls) call.lost(reason);
  }

  /**
   * Stop taking calls (new requests get `ServerDrainingError`), give the
   * calls in flight `graceMs` to finish, then cancel the rest and give them
   * a moment to send their ERR.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    await this.allClosed(graceMs);
    if (this.calls.size === 0) return;
    const reason = new ServerClosingError(
      `the server shut down before the call finished (grace ${graceMs} ms)`,
    );
    for (const call of [...this.calls.values()]) call.abort(reason);
    await this.allClosed(CANCEL_SETTLE_MS);
    for (const call of [...this.calls.values()]) call.close();
  }

  /** A request: a new call, unless it is a stray control event or must be refused. */
  private open(peer: PeerKey, identity: Buffer[], request: ZEvent, bytes: number): void {
    const limit = this.options.maxChannelsPerPeer;
    const held = this.calls.countOf(peer);
    if (request.name.startsWith('_zpc_')) {
      this.bad('badEvents', `${request.name} outside any channel`);
    } else if (held > 0 && this.calls.get(peer, messageIdKey(request.header.message_id)!)) {
      this.bad('badEvents', 'a request reusing the id of an open channel');
    } else if (this.draining) {
      const error = new ServerDrainingError('the server is shutting down; the call was not run');
      this.refuse(identity, request, bytes, error);
    } else if (held >= limit) {
      const hex = identityHex(identity);
      this.badInput.note('rejectedPeerLimit', `peer ${hex} holds ${limit} channels`);
      const error = new TooManyChannelsError(
        `too many open calls from one client (limit ${limit})`,
      );
      this.refuse(identity, request, bytes, error);
    } else {
      const call = new ServerCall(this.host, peer, identity, request, bytes);
      this.counters.calls++;
      call.run();
      // Only a call still going needs routing (heartbeats, credit, cancel).
      if (!call.finished) this.calls.add(peer, call.key, call);
    }
  }

  /** Answer a request with ERR without opening a channel for it, and report its end. */
  private refuse(identity: Buffer[], request: ZEvent, bytesIn: number, error: Error): void {
    const started = this.clock.now();
    const zrpcPeer = advertisedHeartbeat(request.header) !== undefined;
    const header = channelHeader(this.eventId(zrpcPeer), request.header.message_id as MessageId);
    let bytesOut = 0;
    try {
      bytesOut = this.transport.send(identity, header, ERR, errArgs(error, false), zrpcPeer);
    } catch {
      // Past the peer's allowance for small events: the refusal is still reported.
    }
    if (!this.observers.any) return;
    const end: CallEnd = {
      side: 'server',
      method: request.name,
      peer: identityHex(identity),
      status: statusOf(error),
      durationMs: this.clock.now() - started,
      bytesIn,
      bytesOut,
      ran: false,
      stream: this.options.registry.get(request.name)?.stream ?? false,
      error,
    };
    this.observers.notify(end);
  }

  /** A fresh id for an event the server sends: a short one for a zrpc client (docs/EXTENSIONS.md). */
  private eventId(zrpcPeer: boolean): MessageId {
    return zrpcPeer ? this.ids.nextShort() : this.ids.next();
  }

  private bad(kind: 'badEvents' | 'unroutable', detail: string): void {
    this.counters[kind]++;
    this.badInput.note(kind, detail);
  }

  private forget(call: RoutedCall): void {
    this.calls.delete(call.peer, call.key);
    if (this.calls.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when no call is open, or after `ms`. */
  private async allClosed(ms: number): Promise<void> {
    if (this.calls.size === 0) return;
    let timer: ClockTimer | undefined;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      timer = this.clock.setTimeout(resolve, ms, undefined);
    });
    this.clock.clearTimeout(timer);
  }
}

/** A method as a call finds it: the built-ins first, then the registry. */
function resolveMethod(
  builtins: Registry,
  registry: Registry,
  method: string,
): ResolvedMethod | undefined {
  const builtin = builtins.get(method);
  if (builtin) return { spec: builtin, builtin: true };
  const spec = registry.get(method);
  return spec && { spec, builtin: false };
}
