import { Push, type SocketOptions } from 'zeromq';
import { withRemoteMethods } from '../proxy.js';
import type { Args, UntypedApi } from '../types.js';
import { DEFAULT_CLOSE_GRACE_MS, EventSender, type EventSenderOptions } from './sender.js';
import type { EventMethods, EventName } from './types.js';

export interface PusherOptions extends EventSenderOptions {
  /**
   * Settings of the PUSH socket, passed to zeromq.js as they are. Defaults:
   * `immediate: true` (events go only to pullers whose connection is up: a
   * puller that is down never swallows them), `sendHighWaterMark` 1000
   * (events ZeroMQ holds per puller before a push waits), `linger` 2000
   * (how long a program exiting without `close()` may wait for ZeroMQ to
   * send what it holds; `close()` sets it to what is left of its grace).
   */
  socket?: SocketOptions<Push>;
}

/**
 * Sends events to pullers (zerorpc-python's `Pusher`): each event goes to
 * one of the connected pullers, in turn (a work queue), and runs there as
 * the method it names; nothing comes back. A push resolves once ZeroMQ has
 * the event. While no puller can take it (none connected, or each holds
 * `sendHighWaterMark` events it has not read), the push waits, up to
 * `sendTimeoutMs`, then rejects with `SendTimeoutError` and the event is
 * not sent. Typed from the provider's module like a `Client`:
 *
 * ```ts
 * const pusher = new Pusher<typeof Jobs>({ endpoints: 'tcp://workers:4243' });
 * await pusher.resize_image(42, 'thumb'); // or pusher.push('resize_image', 42, 'thumb')
 * await pusher.close();
 * ```
 */
class PusherBase<Api = UntypedApi> extends EventSender {
  constructor(options: PusherOptions = {}) {
    super(
      new Push({ immediate: true, linger: DEFAULT_CLOSE_GRACE_MS, ...options.socket }),
      options,
      'no puller is connected, or those connected hold sendHighWaterMark events each: they do not keep up',
    );
  }

  /** Push the event `name(...args)` to one puller: resolves once ZeroMQ has it. */
  push<K extends EventName<Api>>(name: K, ...args: Args<Api, K>): Promise<void> {
    return this.emit(name, args as unknown[]);
  }

  protected framesOf(_name: string, payload: Buffer): Buffer {
    return payload;
  }
}

// `pusher.ticket_created(42)` pushes the event `ticket_created`.
withRemoteMethods(PusherBase.prototype, 'push');

/** A pusher whose events are typed from `Api` (see `EventMethods`). */
export type Pusher<Api = UntypedApi> = PusherBase<Api> & EventMethods<Api>;

/** `new Pusher<typeof import('./handlers.js')>({ endpoints })`. */
export const Pusher = PusherBase as new <Api = UntypedApi>(options?: PusherOptions) => Pusher<Api>;
