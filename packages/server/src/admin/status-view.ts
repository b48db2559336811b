import { createRequire } from 'node:module';
import type { CallStatus } from '@zrpc/core';
import type { LoopDelayStats } from '../loop-watch.js';
import type { Server, ServerState } from '../server.js';
import type { WorkerStats } from '../worker-pool.js';
import { type MethodStatus, type StatusWindow, WINDOW_SECONDS } from './status-window.js';

/** This package's version (its package.json is two levels up from src/admin and dist/admin alike). */
const ZRPC_VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/**
 * What `GET /status.json` answers, and the status page shows. It names
 * methods and counts calls; it never holds arguments, peers' identities or
 * keys, or error messages.
 */
export interface StatusView {
  server: {
    name: string;
    state: ServerState;
    endpoints: string[];
    /** The service's version, when the runner or the program gave one. */
    version: string | null;
    zrpcVersion: string;
    node: string;
    pid: number;
    /** The process's. */
    uptimeSeconds: number;
  };
  load: {
    running: number;
    queued: number;
    openChannels: number;
    peers: number;
    bytesWaiting: number;
    workers: WorkerStats;
    loopDelayMs: LoopDelayStats;
  };
  windowSeconds: number;
  /** Calls by status (`CallStatus`), since start and over the window. */
  calls: { total: Record<CallStatus, number>; lastMinute: Record<CallStatus, number> };
  methods: MethodStatus[];
}

/** The status of `server` now, from the calls `window` saw. */
export function statusView(
  server: Server,
  window: StatusWindow,
  version: string | undefined,
): StatusView {
  const stats = server.stats;
  return {
    server: {
      name: server.name,
      state: server.state,
      endpoints: server.endpoints,
      version: version ?? null,
      zrpcVersion: ZRPC_VERSION,
      node: process.version,
      pid: process.pid,
      uptimeSeconds: Math.floor(process.uptime()),
    },
    load: {
      running: stats.running,
      queued: stats.queued,
      openChannels: stats.openChannels,
      peers: stats.peers,
      bytesWaiting: stats.bytesWaiting,
      workers: stats.workers,
      loopDelayMs: stats.loopDelayMs,
    },
    windowSeconds: WINDOW_SECONDS,
    calls: window.statusCounts(),
    methods: window.methodStatuses(server.registry.list().map((spec) => spec.name)),
  };
}
