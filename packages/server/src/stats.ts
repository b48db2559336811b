import type { LoopDelayStats } from './loop-watch.js';
import type { WorkerStats } from './worker-pool.js';

/** What `server.stats` reports: counters since start, then the current load. */
export interface ServerStats {
  /** Requests accepted (built-ins included). */
  calls: number;
  /** ERR events sent. */
  errors: number;
  /** Messages that were no event: no payload, bad msgpack, wrong shape. */
  badFrames: number;
  /** Events that made no sense: control events without a channel, a reused request id, a request on an open channel. */
  badEvents: number;
  /** Events for a channel that is not open (never was, or already closed). */
  unroutable: number;
  /** Requests refused because `concurrency` and `queueLimit` were full. */
  rejectedBusy: number;
  /** Requests refused because their peer held `maxChannelsPerPeer` channels. */
  rejectedPeerLimit: number;
  /** Requests refused because the server was closing. */
  rejectedClosing: number;
  /** Calls abandoned because their client stopped heart-beating. */
  lostRemotes: number;
  /** Calls a zrpc client cancelled (`_zpc_cancel`: it left a stream, aborted or timed out). */
  cancelledByClient: number;
  /** Messages the socket refused to send. */
  sendErrors: number;
  /** Replies and stream items refused because they would exceed `sendBudget` (their calls ended with `SendBudgetError`). */
  sendBudgetRefusals: number;
  /** Small events (ERR, heartbeats, credit) dropped for a peer past its budget and the allowance for them. */
  sendBudgetDrops: number;
  /** Bytes held for sending now that ZeroMQ has not taken yet, all peers together. */
  bytesWaiting: number;
  /** The most `bytesWaiting` has been since start. */
  peakBytesWaiting: number;
  /** Channels open now. */
  openChannels: number;
  /** User calls running now. */
  running: number;
  /** User calls waiting for a slot now. */
  queued: number;
  /** The worker pool of the methods registered with `{ worker }`. */
  workers: WorkerStats;
  /** Event-loop delay since the server started listening (ms). */
  loopDelayMs: LoopDelayStats;
}

export type ServerCounters = Omit<
  ServerStats,
  | 'openChannels'
  | 'running'
  | 'queued'
  | 'workers'
  | 'loopDelayMs'
  | 'bytesWaiting'
  | 'peakBytesWaiting'
>;

export function newCounters(): ServerCounters {
  return {
    calls: 0,
    errors: 0,
    badFrames: 0,
    badEvents: 0,
    unroutable: 0,
    rejectedBusy: 0,
    rejectedPeerLimit: 0,
    rejectedClosing: 0,
    lostRemotes: 0,
    cancelledByClient: 0,
    sendErrors: 0,
    sendBudgetRefusals: 0,
    sendBudgetDrops: 0,
  };
}
