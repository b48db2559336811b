import { Pull, type SocketOptions } from 'zeromq';
import type { EventServerOptions } from './options.js';
import { EventReceiver, RECEIVER_SOCKET_DEFAULTS } from './receiver.js';

export interface PullerOptions extends EventServerOptions {
  /**
   * Settings of the PULL socket, passed to zeromq.js as they are. Defaults:
   * `maxMessageSize` 16 MiB, `receiveHighWaterMark` 100 (events ZeroMQ
   * holds per connected pusher before that pusher waits).
   */
  socket?: SocketOptions<Pull>;
}

/**
 * Runs the events pushed to it (zerorpc-python's `Puller`): a PULL socket
 * that binds (or connects), each message one event `[header, name, args]`
 * run as the registered method `name`, its result dropped and its failure
 * logged, never answered. Several pushers may connect; ZeroMQ takes from
 * them in turn (fair queueing), and the puller reads only while it has room
 * (`concurrency`, `byteBudget`), so a pusher flooding it cannot starve another.
 *
 * ```ts
 * const puller = new Puller({ registry });
 * await puller.bind('tcp://0.0.0.0:4243');
 * ```
 */
export class Puller extends EventReceiver {
  constructor(options: PullerOptions = {}) {
    const socket = new Pull({ ...RECEIVER_SOCKET_DEFAULTS, ...options.socket });
    super(socket, 'pushed', options);
  }
}
