import { encodeEvent, MessageIdGenerator, requestHeader } from '@zrpc/core/protocol';
import { afterEach } from 'vitest';
import { Publisher, Push } from 'zeromq';
import { Puller, type PullerOptions, Subscriber, type SubscriberOptions } from '../src/index.js';
import { quietLogger } from './helpers.js';

const ids = new MessageIdGenerator();

/** One event as a reference Pusher or Publisher sends it: `[header, name, args]`, one frame. */
export function eventFrame(
  name: string,
  args: unknown,
  taskContext: Record<string, unknown> = {},
): Buffer {
  return Buffer.from(encodeEvent({ header: requestHeader(ids.next(), taskContext), name, args }));
}

/** Wait until `ready()` holds, polling; a bound against hangs, never a speed check. */
export async function until(ready: () => boolean, what: string, boundMs = 15_000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!ready()) {
    if (performance.now() > deadline) throw new Error(`still waiting after ${boundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Pullers, subscribers and raw sockets made through these, closed after each test. */
export function eventsPerTest() {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return {
    /** A puller bound to a free loopback port, with a logger that keeps its lines. */
    async puller(options: PullerOptions = {}) {
      const logger = quietLogger();
      const puller = new Puller({ logger, ...options });
      await puller.bind('tcp://127.0.0.1:*');
      closers.push(() => puller.close({ graceMs: 0 }));
      return { puller, logger, endpoint: puller.endpoints[0]! };
    },
    /** A subscriber connected to `endpoint`. */
    async subscriber(endpoint: string, options: SubscriberOptions = {}) {
      const logger = quietLogger();
      const subscriber = new Subscriber({ logger, ...options });
      await subscriber.connect(endpoint);
      closers.push(() => subscriber.close({ graceMs: 0 }));
      return { subscriber, logger };
    },
    /** A raw PUSH socket connected to `endpoint`. */
    push(endpoint: string): Push {
      const push = new Push({ linger: 0 });
      push.connect(endpoint);
      closers.push(() => push.close());
      return push;
    },
    /** A raw PUB socket on a free loopback port. */
    async publisher(): Promise<{ pub: Publisher; endpoint: string }> {
      const pub = new Publisher({ linger: 0 });
      await pub.bind('tcp://127.0.0.1:*');
      closers.push(() => pub.close());
      return { pub, endpoint: pub.lastEndpoint! };
    },
  };
}
