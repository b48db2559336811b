import { type CallObserver, Observers, type Registry } from '@zrpc/core';
import { BadInputLog } from './bad-input-log.js';
import { Dispatcher } from './dispatcher.js';
import { CallLog } from './log.js';
import { LoopWatch } from './loop-watch.js';
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options.js';
import { type CallEndCounters, countCallEnds, type ServerStats } from './stats.js';
import { Transport } from './transport.js';
import { WorkerPool } from './worker-pool.js';

/** See `CloseOptions.drainMs`. */
const DRAIN_MS = 500;

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
 * Where a server is in its life: `idle` until it binds or connects,
 * `serving`, `draining` from the first `close()` (new calls refused, calls
 * in flight finishing), `closed` once the socket is closed.
 */
export type ServerState = 'idle' | 'serving' | 'draining' | 'closed';

/**
 * A zerorpc server, made of two rooms: the `Transport` (the ROUTER socket,
 * its read loop and every send) and the `Dispatcher` (requests into calls:
 * admission, fair shares, routing, drain). Every request's end is a
 * `CallEnd` for the observers: `stats`, the log, and any added with
 * `observe` or the `observers` option.
 */
export class Server {
  /** The name built-ins answer with. */
  readonly name: string;
  private readonly options: ResolvedOptions;
  private readonly transport: Transport;
  private readonly dispatcher: Dispatcher;
  private readonly observers: Observers;
  private readonly ends: CallEndCounters;
  private readonly badInput: BadInputLog;
  private readonly workers: WorkerPool;
  private readonly loopWatch: LoopWatch;
  private closing: Promise<void> | undefined;
  private closed = false;

  constructor(options: ServerOptions = {}) {
    this.options = resolveOptions(options);
    const { logger, registry } = this.options;
    this.name = this.options.name;
    const { counters, observer } = countCallEnds();
    this.ends = counters;
    this.observers = new Observers([observer, new CallLog(logger, registry).ended], (error) =>
      logger.error('zrpc server: a call observer threw (reported once):', error),
    );
    for (const added of this.options.observers) this.observers.add(added);
    this.badInput = new BadInputLog(logger, this.options.clock);
    this.workers = new WorkerPool(this.options.workers, logger);
    this.loopWatch = new LoopWatch(this.options.blockWarnMs, logger);
    let dispatcher: Dispatcher | undefined;
    this.transport = new Transport(
      this.options,
      {
        event: (identity, event, bytes) => dispatcher!.event(identity, event, bytes),
        unreadableRequest: (identity, head, bytes, reason) =>
          dispatcher!.unreadableRequest(identity, head, bytes, reason),
        gone: (peer, who) => dispatcher!.gone(peer, who),
      },
      this.badInput,
    );
    dispatcher = new Dispatcher(
      this.options,
      this.transport,
      this.observers,
      this.badInput,
      this.workers,
      this.loopWatch,
    );
    this.dispatcher = dispatcher;
  }

  /** Every endpoint bound (port `0`/`*` resolved) or connected. */
  get endpoints(): string[] {
    return this.transport.endpoints;
  }

  /** The methods it serves, the built-in `_zerorpc_*` ones aside. */
  get registry(): Registry {
    return this.options.registry;
  }

  /** See `ServerState`. */
  get state(): ServerState {
    if (this.closed) return 'closed';
    if (this.closing !== undefined) return 'draining';
    return this.transport.started ? 'serving' : 'idle';
  }

  /** Counters since start and the current load. */
  get stats(): ServerStats {
    const waiting = this.transport.bytesWaiting;
    return {
      ...this.dispatcher.counters,
      ...this.ends,
      ...this.transport.counters,
      bytesWaiting: waiting.now,
      peakBytesWaiting: waiting.peak,
      openChannels: this.dispatcher.openChannels,
      peers: this.transport.peers,
      running: this.dispatcher.limiter.running,
      queued: this.dispatcher.limiter.queued,
      workers: this.workers.stats,
      loopDelayMs: this.loopWatch.stats,
    };
  }

  /**
   * Tell `observer` of every request's end from now on (see `CallEnd` in
   * @zrpc/core): refused requests included, which middleware never sees.
   * Answers the function that stops it.
   */
  observe(observer: CallObserver): () => void {
    return this.observers.add(observer);
  }

  /** Listen on `endpoint` (`tcp://host:port`, `tcp://[::1]:port`, `ipc://path`, `inproc://name`). */
  async bind(endpoint: string): Promise<void> {
    this.checkOpen();
    await this.transport.bind(endpoint);
    this.loopWatch.start();
  }

  /** Connect out to `endpoint`: a peer that binds, such as a broker. */
  async connect(endpoint: string): Promise<void> {
    this.checkOpen();
    await this.transport.connect(endpoint);
    this.loopWatch.start();
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
  reloadClientKeys(): Promise<void> {
    return this.transport.reloadClientKeys();
  }

  private checkOpen(): void {
    if (this.closing) throw new Error('the server is closed');
  }

  private async shutdown(graceMs: number, drainMs: number): Promise<void> {
    await this.dispatcher.drain(graceMs);
    await this.transport.close(drainMs);
    await this.workers.close();
    this.loopWatch.stop();
    this.badInput.flush();
    this.closed = true;
  }
}
