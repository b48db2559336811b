import type { CallEnd, CallObserver } from '@zrpc/core';
import type { LoopDelayStats } from './loop-watch.js';
import type { WorkerStats } from './worker-pool.js';

/** What `server.stats` reports: counters since start, then the current load. */
export interface ServerStats {
  /** Requests admitted (built-ins included; not those refused for their peer's limit or a shutdown). */
  calls: number;
  /** Requests that ended with an ERR reply: refused, failed, or cancelled by a shutdown. */
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
  /** Connections open now: clients connected to it (and brokers it connected to). */
  peers: number;
  /** User calls running now. */
  running: number;
  /** User calls waiting for a slot now. */
  queued: number;
  /** The worker pool of the methods registered with `{ worker }`. */
  workers: WorkerStats;
  /** Event-loop delay since the server started listening (ms). */
  loopDelayMs: LoopDelayStats;
}

/** What the transport counts: input it could not read, sends that failed or were refused. */
export type TransportCounters = Pick<
  ServerStats,
  'badFrames' | 'sendErrors' | 'sendBudgetRefusals' | 'sendBudgetDrops'
>;

/** What the dispatcher counts: requests it admitted, events it could not route. */
export type DispatchCounters = Pick<ServerStats, 'calls' | 'badEvents' | 'unroutable'>;

/** What the call-end records add up to (see `countCallEnds`). */
export type CallEndCounters = Pick<
  ServerStats,
  | 'errors'
  | 'rejectedBusy'
  | 'rejectedPeerLimit'
  | 'rejectedClosing'
  | 'lostRemotes'
  | 'cancelledByClient'
>;

/** Counters of how calls ended, and the observer that keeps them. */
export function countCallEnds(): { counters: CallEndCounters; observer: CallObserver } {
  const counters: CallEndCounters = {
    errors: 0,
    rejectedBusy: 0,
    rejectedPeerLimit: 0,
    rejectedClosing: 0,
    lostRemotes: 0,
    cancelledByClient: 0,
  };
  const observer = ({ status, ran }: CallEnd): void => {
    switch (status) {
      case 'ok':
        return;
      // Nothing is answered to a lost client, nor to one that cancelled.
      case 'lost':
        counters.lostRemotes++;
        return;
      case 'cancelled':
        counters.cancelledByClient++;
        return;
      case 'refused_busy':
        counters.rejectedBusy++;
        break;
      case 'refused_peer_limit':
        counters.rejectedPeerLimit++;
        break;
      case 'refused_closing':
        // Refused at the door, or (ran) cut short at the end of the grace period.
        if (!ran) counters.rejectedClosing++;
        break;
    }
    counters.errors++;
  };
  return { counters, observer };
}
