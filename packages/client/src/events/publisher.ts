import { Publisher as PubSocket, type SocketOptions } from 'zeromq';
import { withRemoteMethods } from '../proxy.js';
import type { Args, UntypedApi } from '../types.js';
import { DEFAULT_CLOSE_GRACE_MS, EventSender, type EventSenderOptions } from './sender.js';
import type { EventMethods, EventName } from './types.js';

export interface PublisherOptions extends EventSenderOptions {
  /**
   * Send each event's name as a topic frame before it, so that a zrpc
   * `Subscriber` with `topics` receives only the events it names (ZeroMQ
   * filters them here, at the publisher). zerorpc-python's Subscriber reads
   * the last frame of a message as its event, so it is not disturbed
   * (default false: one frame per event, exactly as zerorpc-python's
   * Publisher sends).
   */
  topics?: boolean;
  /**
   * Settings of the PUB socket, passed to zeromq.js as they are
   * (`sendHighWaterMark`: events ZeroMQ holds per subscriber, default 1000;
   * beyond it that subscriber misses events; `linger` 2000, as a Pusher's).
   */
  socket?: SocketOptions<PubSocket>;
}

/**
 * Sends events to every subscriber connected (zerorpc-python's
 * `Publisher`). A publish resolves once ZeroMQ has the event; it never
 * waits for subscribers: one that is not connected yet, or that holds
 * `sendHighWaterMark` events unread, misses it. Typed like a `Pusher`.
 *
 * ```ts
 * const publisher = new Publisher<typeof TicketEvents>();
 * await publisher.bind('tcp://0.0.0.0:4243');
 * await publisher.ticket_created(ticket);
 * ```
 */
class PublisherBase<Api = UntypedApi> extends EventSender {
  private readonly topics: boolean;

  constructor(options: PublisherOptions = {}) {
    super(
      new PubSocket({ linger: DEFAULT_CLOSE_GRACE_MS, ...options.socket }),
      options,
      'the publisher could not send',
    );
    this.topics = options.topics === true;
  }

  /** Publish the event `name(...args)` to every subscriber: resolves once ZeroMQ has it. */
  publish<K extends EventName<Api>>(name: K, ...args: Args<Api, K>): Promise<void> {
    return this.emit(name, args as unknown[]);
  }

  protected framesOf(name: string, payload: Buffer): Buffer | Buffer[] {
    return this.topics ? [Buffer.from(name), payload] : payload;
  }
}

// `publisher.ticket_created(ticket)` publishes the event `ticket_created`.
withRemoteMethods(PublisherBase.prototype, 'publish');

/** A publisher whose events are typed from `Api` (see `EventMethods`). */
export type Publisher<Api = UntypedApi> = PublisherBase<Api> & EventMethods<Api>;

/** `new Publisher<typeof import('./handlers.js')>()`, then `bind` (or `endpoints` to connect). */
export const Publisher = PublisherBase as new <Api = UntypedApi>(
  options?: PublisherOptions,
) => Publisher<Api>;
