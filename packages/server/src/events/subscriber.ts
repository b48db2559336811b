import type { ZEvent } from '@zrpc/core/protocol';
import { type SocketOptions, Subscriber as SubscriberSocket } from 'zeromq';
import type { EventServerOptions } from './options.js';
import { EventReceiver, RECEIVER_SOCKET_DEFAULTS } from './receiver.js';

export interface SubscriberOptions extends EventServerOptions {
  /**
   * Event names to receive, when the publisher sends topics (a zrpc
   * `Publisher` with `topics: true`): ZeroMQ then filters at the publisher,
   * and an event whose name is none of these is dropped here too. Default:
   * every event, as zerorpc-python's Subscriber (which is what events from
   * a publisher without topics need: theirs start with the event's bytes).
   */
  topics?: readonly string[];
  /**
   * Settings of the SUB socket, passed to zeromq.js as they are. Defaults:
   * `maxMessageSize` 16 MiB, `receiveHighWaterMark` 100 (events ZeroMQ
   * holds for this subscriber; past them and the publisher's own
   * high-water mark, the publisher drops what it publishes to it).
   */
  socket?: SocketOptions<SubscriberSocket>;
}

/**
 * Runs the events published to it (zerorpc-python's `Subscriber`): a SUB
 * socket that connects to a publisher (or binds, for publishers that
 * connect), running each event as a `Puller` does. Late joiners miss what
 * was published before they connected; a subscriber that does not keep up
 * loses events at the publisher (ZeroMQ drops them there rather than slow
 * the publisher down).
 *
 * ```ts
 * const subscriber = new Subscriber({ registry });
 * await subscriber.connect('tcp://tickets:4243');
 * ```
 */
export class Subscriber extends EventReceiver {
  private readonly topics: ReadonlySet<string> | undefined;

  constructor(options: SubscriberOptions = {}) {
    const socket = new SubscriberSocket({ ...RECEIVER_SOCKET_DEFAULTS, ...options.socket });
    const topics = options.topics;
    if (topics !== undefined) {
      if (
        !Array.isArray(topics) ||
        topics.length === 0 ||
        topics.some((t) => typeof t !== 'string' || t === '')
      ) {
        socket.close();
        throw new TypeError('topics must list at least one event name (non-empty strings)');
      }
      socket.subscribe(...topics);
    } else {
      socket.subscribe();
    }
    super(socket, 'published', options);
    this.topics = topics === undefined ? undefined : new Set(topics);
  }

  /** With topics, only the events named: ZeroMQ matches prefixes, and a sender may lie in its topic frame. */
  protected override accepts(event: ZEvent): boolean {
    return this.topics === undefined || this.topics.has(event.name);
  }
}
