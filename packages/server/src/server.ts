import { performance } from 'node:perf_hooks';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import { compose, type EventHeader, ProtocolError } from '@zrpc/core';
import {
  channelHeader,
  decodeEvent,
  ERR,
  encodeEvent,
  errArgs,
  MessageIdGenerator,
  messageIdKey,
  monotonicNow,
  OK,
  openEnvelope,
  readableHead,
  STREAM,
  type ZEvent,
} from '@zrpc/core/protocol';
import { Router } from 'zeromq';
import { BadInputLog } from './bad-input-log.js';
import { builtinMethods } from './builtins.js';
import {
  allowClientKeys,
  clientKeyList,
  curveSocketOptions,
  forgetZapDomain,
  newZapDomain,
} from './curve.js';
import {
  PeerGoneError,
  SendBudgetError,
  ServerClosingError,
  ServerDrainingError,
  TooManyChannelsError,
} from './errors.js';
import { Limiter } from './limiter.js';
import { CallLog } from './log.js';
import { LoopWatch } from './loop-watch.js';
import { identityHex, PeerChannels, type PeerKey, peerKeyOf } from './multiplexer.js';
import {
  defaultTracebacks,
  type ResolvedOptions,
  resolveOptions,
  type ServerOptions,
} from './options.js';
import { Outbox } from './outbox.js';
import { type CallHost, type ResolvedMethod, ServerCall } from './server-call.js';
import { newCounters, type ServerStats } from './stats.js';
import { WorkerPool } from './worker-pool.js';

/** The longest the receive loop works before it lets timers run (see `receiveLoop`). */
const RECEIVE_TURN_MS = 5;
/** How long the socket keeps trying to deliver queued replies after close(). */
const LINGER_MS = 2000;
/**
 * Outgoing messages ZeroMQ queues per peer (in its pipe, in this process)
 * before it refuses more for that peer (the socket is `mandatory`): the
 * rest wait in the server's `Outbox`, counted in bytes against the send
 * budget. ZeroMQ counts messages, not bytes, so what it holds for a peer
 * that stops reading is up to this many messages: 128 × the reply size, at
 * worst 128 × `maxMessageSize` (2 GiB at 16 MiB), 128 MiB for 1 MiB replies.
 * Lower bounds that better but costs every fast stream: ZeroMQ's I/O thread
 * tells the sender that a pipe has room again only every half high-water
 * mark, so a small pipe is found full and waited on far more often (a
 * stream of small items, one client: about 90k items/s at 1000, 75k at 256,
 * 55k at 128, 40k at 64 on the 2-core machine of the send-budget work).
 */
const SEND_HIGH_WATER_MARK = 128;
/**
 * Largest message a peer may send (ZeroMQ's own check: a peer that sends a
 * larger one is disconnected before the bytes are buffered), and largest
 * reply the server sends (a larger one gets an ERR instead).
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** See `CloseOptions.drainMs`. */
const DRAIN_MS = 500;
/** After the grace period, how long cancelled calls get to send their ERR. */
const CANCEL_SETTLE_MS = 1000;
const EMPTY = Buffer.alloc(0);

export interface CloseOptions {
  /** How long in-flight calls and streams may take to finish before they are cancelled (default 5000). */
  graceMs?: number;
  /**
   * How long after the last message it sent the socket stays open (new
   * calls refused), so that clients read it before the connection drops
   * (default 500).
   */
  drainMs?: number;
}

/**
 * A zerorpc server: one ROUTER socket, one receive loop, every send through
 * one SendQueue. Requests open channels keyed by (peer, message id); each
 * becomes a `ServerCall` (see server-call.ts).
 */
export class Server {
  /** The name built-ins answer with. */
  readonly name: string;
  private readonly options: ResolvedOptions;
  private readonly socket: Router;
  private readonly outbox: Outbox;
  private readonly calls = new PeerChannels<ServerCall>();
  private readonly ids = new MessageIdGenerator();
  private readonly counters = newCounters();
  private readonly limiter: Limiter;
  private readonly badInput: BadInputLog;
  private readonly host: CallHost;
  private readonly workers: WorkerPool;
  private readonly loopWatch: LoopWatch;
  private readonly endpointList: string[] = [];
  private receiving: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** With CURVE: this server's ZAP domain, and the allow-list's first load. */
  private readonly zapDomain: string | undefined;
  private keysLoaded: Promise<void> | undefined;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  /** Replies larger than this are refused (the socket's maxMessageSize; -1: no limit). */
  private readonly maxReplyBytes: number;

  constructor(options: ServerOptions = {}) {
    this.options = resolveOptions(options);
    const curve = this.options.curve;
    this.zapDomain = curve && newZapDomain();
    this.socket = new Router({
      ...(curve && curveSocketOptions(curve, this.zapDomain!)),
      linger: LINGER_MS,
      sendHighWaterMark: SEND_HIGH_WATER_MARK,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      ...this.options.socket,
      // The Outbox relies on these: ZeroMQ refuses at once (EAGAIN) a message
      // for a peer whose pipe is full instead of dropping it (or, without
      // sendTimeout 0, waiting until any peer has room: one slow peer would
      // hold up all), and says EHOSTUNREACH for a peer that is gone.
      mandatory: true,
      sendTimeout: 0,
    });
    this.maxReplyBytes = this.socket.maxMessageSize;
    const { registry, logger } = this.options;
    this.name = this.options.name;
    this.limiter = new Limiter(
      this.options.concurrency,
      this.options.queueLimit,
      this.options.reservedSlots,
    );
    this.badInput = new BadInputLog(logger);
    this.outbox = new Outbox(this.socket, this.options.sendBudget, {
      sent: () => {
        this.lastSendAt = monotonicNow();
      },
      gone: (peer, who) => this.peerGone(peer, who),
      failed: (error) => {
        this.counters.sendErrors++;
        this.badInput.note('sendErrors', `send failed: ${(error as Error).message}`);
      },
    });
    const builtins = builtinMethods(registry, this.name);
    const callLog = new CallLog(logger, registry);
    this.workers = new WorkerPool(this.options.workers, logger);
    this.loopWatch = new LoopWatch(this.options.blockWarnMs, logger);
    const endpoints = this.endpointList;
    const tracebacks = this.options.tracebacks;
    this.host = {
      heartbeatMs: this.options.heartbeatMs,
      assumedPeerHeartbeatMs: this.options.assumedPeerHeartbeatMs,
      get tracebacks() {
        return tracebacks ?? defaultTracebacks(endpoints);
      },
      withheld: (ctx, error) =>
        logger.error(
          `zrpc server: ${ctx.method}() failed (traceback not sent to the caller):`,
          error,
        ),
      middleware: compose(this.options.middleware),
      limiter: this.limiter,
      counters: this.counters,
      sendQueue: this.outbox.front,
      resolve(method): ResolvedMethod | undefined {
        const builtin = builtins.get(method);
        if (builtin) return { spec: builtin, builtin: true };
        const spec = registry.get(method);
        return spec && { spec, builtin: false };
      },
      nextMessageId: () => this.ids.next(),
      send: (identity, header, name, args) => this.send(identity, header, name, args),
      badInput: (kind, detail) => this.bad(kind, detail),
      closed: (call) => this.forget(call),
      ended: (record) => callLog.ended(record),
      workers: this.workers,
      blockWarnMs: this.loopWatch.thresholdMs,
      blockedLoop: (method, ms) => this.loopWatch.blocked(method, ms),
    };
  }

  /** Every endpoint bound (port `0`/`*` resolved) or connected. */
  get endpoints(): string[] {
    return [...this.endpointList];
  }

  /** Counters since start and the current load. */
  get stats(): ServerStats {
    return {
      ...this.counters,
      bytesWaiting: this.outbox.bytesWaiting,
      peakBytesWaiting: this.outbox.peakBytesWaiting,
      openChannels: this.calls.size,
      running: this.limiter.running,
      queued: this.limiter.queued,
      workers: this.workers.stats,
      loopDelayMs: this.loopWatch.stats,
    };
  }

  /** Listen on `endpoint` (`tcp://host:port`, `tcp://[::1]:port`, `ipc://path`, `inproc://name`). */
  async bind(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    await this.loadClientKeys();
    // Synchronous on purpose: while zeromq.js binds on a worker thread
    // (`socket.bind`), every send and receive on the socket throws EBUSY, so
    // replies, stream items and heartbeats of the calls in flight would be
    // dropped, and a second bind would fail. Binding is quick (a listening
    // socket); holding the event loop for it loses nothing.
    this.socket.bindSync(endpoint);
    this.endpointList.push(unmapped(this.socket.lastEndpoint ?? endpoint));
    this.startReceiving();
  }

  /** Connect out to `endpoint`: a peer that binds, such as a broker. */
  async connect(endpoint: string): Promise<void> {
    this.prepare(endpoint);
    await this.loadClientKeys();
    this.socket.connect(endpoint);
    this.endpointList.push(endpoint);
    this.startReceiving();
  }

  /**
   * Stop taking calls (new requests get `ServerDrainingError`), give the calls
   * in flight `graceMs` to finish, cancel the rest (their signal fires,
   * streams stop), flush what is queued and close the socket. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? 5000, options.drainMs ?? DRAIN_MS);
    return this.closing;
  }

  /** Whether the server encrypts and admits clients by key (the `curve` option). */
  get hasCurve(): boolean {
    return this.options.curve !== undefined;
  }

  /**
   * Read the CURVE allow-list again (from its file, when `curve.clientKeys`
   * is a path) and admit exactly those keys from now on; connections already
   * made stay. The runner calls it on SIGHUP.
   */
  async reloadClientKeys(): Promise<void> {
    const curve = this.options.curve;
    if (curve === undefined) throw new Error('the server has no CURVE keys');
    await allowClientKeys(this.zapDomain!, clientKeyList(curve.clientKeys));
  }

  private loadClientKeys(): Promise<void> {
    if (this.options.curve === undefined) return Promise.resolve();
    this.keysLoaded ??= this.reloadClientKeys();
    return this.keysLoaded;
  }

  private prepare(endpoint: string): void {
    if (this.closing) throw new Error('the server is closed');
    // ZeroMQ takes IPv6 addresses only with this option; it is left off
    // otherwise so that a host name keeps resolving to IPv4.
    if (endpoint.startsWith('tcp://[') && !this.socket.ipv6) this.socket.ipv6 = true;
  }

  private startReceiving(): void {
    if (this.receiving === undefined) this.loopWatch.start();
    this.receiving ??= this.receiveLoop();
  }

  private async receiveLoop(): Promise<void> {
    let turnStarted = performance.now();
    for (;;) {
      // While messages keep coming, each receive settles as a microtask: let
      // the event loop turn now and then, or the timers that send every
      // call's heartbeats wait until the flood stops (and clients of calls
      // still running declare this server lost).
      if (performance.now() - turnStarted > RECEIVE_TURN_MS) {
        await nextTurn();
        turnStarted = performance.now();
      }
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (error) {
        if (this.socket.closed) return;
        this.options.logger.error('zrpc server: receive failed', error);
        continue;
      }
      try {
        this.handle(frames);
      } catch (error) {
        // A bug of ours, not the peer's: keep serving the others.
        this.options.logger.error('zrpc server: failed to handle a message', error);
      }
    }
  }

  private handle(frames: Buffer[]): void {
    const envelope = openEnvelope(frames);
    if (envelope === undefined || envelope.identity.length === 0) {
      this.bad('badFrames', 'a message without payload');
      return;
    }
    let event: ZEvent;
    try {
      event = decodeEvent(envelope.payload);
    } catch (error) {
      this.bad('badFrames', (error as Error).message);
      this.answerUnreadable(envelope.identity, envelope.payload, error as Error);
      return;
    }
    const peer = peerKeyOf(envelope.identity);
    const responseTo = event.header.response_to;
    if (responseTo === undefined) {
      this.open(peer, envelope.identity, event);
      return;
    }
    const call = this.calls.get(peer, messageIdKey(responseTo)!);
    if (call !== undefined) {
      call.channel.receive(event, monotonicNow());
    } else if (event.name.startsWith('_zpc_')) {
      // A heartbeat or a grant crossing the final reply is normal: counted, not logged.
      this.counters.unroutable++;
    } else {
      this.bad('unroutable', `a ${event.name} event for no open channel`);
    }
  }

  /** A request: a new channel, unless it is a stray control event or must be refused. */
  private open(peer: PeerKey, identity: Buffer[], request: ZEvent): void {
    const limit = this.options.maxChannelsPerPeer;
    const held = this.calls.countOf(peer);
    if (request.name.startsWith('_zpc_')) {
      this.bad('badEvents', `${request.name} outside any channel`);
    } else if (held > 0 && this.calls.get(peer, messageIdKey(request.header.message_id)!)) {
      this.bad('badEvents', 'a request reusing the id of an open channel');
    } else if (this.closing) {
      this.counters.rejectedClosing++;
      const error = new ServerDrainingError('the server is shutting down; the call was not run');
      this.refuse(identity, request, error);
    } else if (held >= limit) {
      this.counters.rejectedPeerLimit++;
      const hex = identityHex(identity);
      this.badInput.note('rejectedPeerLimit', `peer ${hex} holds ${limit} channels`);
      const error = new TooManyChannelsError(
        `too many open calls from one client (limit ${limit})`,
      );
      this.refuse(identity, request, error);
    } else {
      const call = new ServerCall(this.host, peer, identity, request);
      this.counters.calls++;
      call.run();
      // Only a call still going needs routing (heartbeats, credit, cancel).
      if (!call.finished) this.calls.add(peer, call.key, call);
    }
  }

  /**
   * A request whose args could not be decoded but whose id can be read is
   * answered with an ERR naming the reason: its caller need not wait for its
   * timeout. (An event on a channel, or one whose id is unreadable, is only counted.)
   */
  private answerUnreadable(identity: Buffer[], payload: Buffer, error: Error): void {
    const head = readableHead(payload);
    if (head === undefined || head.header.response_to !== undefined) return;
    if (head.name.startsWith('_zpc_')) return;
    const reason = new ProtocolError(
      `cannot decode the request for ${head.name}: ${error.message}`,
    );
    this.refuse(identity, { ...head, args: null }, reason);
  }

  /** Answer a request with ERR without opening a channel for it. */
  private refuse(identity: Buffer[], request: ZEvent, error: Error): void {
    const header = channelHeader(this.ids.next(), request.header.message_id);
    this.send(identity, header, ERR, errArgs(error, false));
    this.counters.errors++;
  }

  private send(
    identity: readonly Buffer[],
    header: EventHeader,
    name: string,
    args: unknown,
  ): void {
    const payload = encodeEvent({ header, name, args });
    if (this.maxReplyBytes > 0 && payload.byteLength > this.maxReplyBytes) {
      throw new RangeError(
        `the ${name} event is ${payload.byteLength} bytes, over maxMessageSize (${this.maxReplyBytes})`,
      );
    }
    const peer = peerKeyOf(identity);
    // Only the events that carry user data are refused with an error; the
    // small ones (ERR, STREAM_DONE, heartbeats, credit) have an allowance
    // past the budget, so that the ERR telling a caller why gets through.
    const data = name === OK || name === STREAM;
    let queued: boolean;
    try {
      queued = this.outbox.push(
        peer,
        identity,
        [...identity, EMPTY, payload],
        payload.length,
        data,
      );
    } catch (error) {
      if (error instanceof SendBudgetError) {
        this.counters.sendBudgetRefusals++;
        this.badInput.note('sendBudgetRefusals', error.message);
      }
      throw error;
    }
    if (!queued) this.counters.sendBudgetDrops++;
  }

  /** ZeroMQ has no route to `peer` any more: its calls are lost now (their replies could not go anywhere). */
  private peerGone(peer: PeerKey, who: string): void {
    const calls = this.calls.valuesOf(peer);
    if (calls.length === 0) return;
    const reason = new PeerGoneError(who, this.options.heartbeatMs);
    for (const call of calls) call.lost(reason);
  }

  private bad(kind: 'badFrames' | 'badEvents' | 'unroutable', detail: string): void {
    this.counters[kind]++;
    this.badInput.note(kind, detail);
  }

  private forget(call: ServerCall): void {
    this.calls.delete(call.peer, call.key);
    if (this.calls.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when no channel is open, or after `ms`. */
  private async allClosed(ms: number): Promise<void> {
    if (this.calls.size === 0) return;
    const timeout = new AbortController();
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.race([idle, delay(ms, undefined, { signal: timeout.signal }).catch(() => {})]);
    timeout.abort();
  }

  private async shutdown(graceMs: number, drainMs: number): Promise<void> {
    await this.allClosed(graceMs);
    if (this.calls.size > 0) {
      const reason = new ServerClosingError(
        `the server shut down before the call finished (grace ${graceMs} ms)`,
      );
      for (const call of [...this.calls.values()]) call.abort(reason);
      await this.allClosed(CANCEL_SETTLE_MS);
      for (const call of [...this.calls.values()]) call.close();
    }
    await this.outbox.front.idle();
    // Messages a peer's full pipe kept back get the drain period to go out;
    // those of a peer that does not read are then dropped.
    await this.outbox.settled(drainMs);
    // The last replies are on their way; a client DEALER with `immediate`
    // (the zrpc client's) drops what it received but has not read yet when
    // the connection closes. Keep the connection up a moment (refusing new
    // calls) so that clients read them: without this, 1% of the replies in
    // flight at SIGTERM were lost (test/drain.test.ts of @zrpc/client).
    const drainLeft = this.lastSendAt + drainMs - monotonicNow();
    if (drainLeft > 0) await delay(drainLeft);
    this.outbox.close();
    this.socket.close();
    await this.workers.close();
    this.loopWatch.stop();
    if (this.zapDomain !== undefined) forgetZapDomain(this.zapDomain);
    await this.receiving;
    this.badInput.flush();
  }
}

/**
 * With the ipv6 option on, ZeroMQ reports an IPv4 bind as an IPv4-mapped
 * IPv6 address (`tcp://[::ffff:127.0.0.1]:4242`); give it back as plain IPv4,
 * which every client can connect to.
 */
function unmapped(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/\[::ffff:(\d+\.\d+\.\d+\.\d+)\]/, 'tcp://$1');
}
