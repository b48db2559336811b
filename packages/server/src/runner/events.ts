import type { ServerMiddleware } from '@zrpc/core';
import { rpc } from '@zrpc/core';
import { Puller } from '../events/puller.js';
import type { EventCloseOptions } from '../events/receiver.js';
import { Subscriber } from '../events/subscriber.js';
import type { Logger } from '../options.js';
import { parseAddrport } from './addrport.js';
import { RunnerError } from './errors.js';

/** Where the runner takes events: a puller's address, the publishers a subscriber connects to. */
export interface EventSources {
  /** Bind a `Puller` here: any addrport form (`4243`, `0.0.0.0:4243`, `tcp://...`). */
  pull?: string;
  /** Connect a `Subscriber` to each of these publishers (addrport forms too). */
  subscribe?: readonly string[];
}

/** The runner's event receivers, when it was given any. */
export interface RunningEvents {
  readonly puller?: Puller;
  readonly subscriber?: Subscriber;
}

/** Whether any event source is given. */
export function hasEventSources(sources: EventSources): boolean {
  return sources.pull !== undefined || (sources.subscribe?.length ?? 0) > 0;
}

/**
 * Start a puller and a subscriber for the sources given, serving the
 * default `rpc` registry with the runner's middleware; answers them and the
 * banner lines saying where they take events.
 */
export async function startEvents(
  sources: EventSources,
  options: { middleware?: ServerMiddleware[]; logger?: Logger; workers?: number },
): Promise<RunningEvents & { lines: string[] }> {
  const shared = { ...options, registry: rpc };
  const lines: string[] = [];
  let puller: Puller | undefined;
  let subscriber: Subscriber | undefined;
  try {
    if (sources.pull !== undefined) {
      const endpoint = parseAddrport(sources.pull).endpoint;
      puller = new Puller(shared);
      try {
        await puller.bind(endpoint);
      } catch (err) {
        throw new RunnerError(`cannot pull events on ${endpoint}: ${(err as Error).message}`);
      }
      lines.push(...puller.endpoints.map((where) => `Pulling events on ${where}`));
    }
    if ((sources.subscribe?.length ?? 0) > 0) {
      subscriber = new Subscriber(shared);
      for (const publisher of sources.subscribe!) {
        const endpoint = parseAddrport(publisher).endpoint;
        try {
          await subscriber.connect(endpoint);
        } catch (err) {
          throw new RunnerError(`cannot subscribe to ${endpoint}: ${(err as Error).message}`);
        }
        lines.push(`Subscribed to events from ${endpoint}`);
      }
    }
  } catch (err) {
    await closeEvents({ puller, subscriber }, { graceMs: 0 });
    throw err;
  }
  return { puller, subscriber, lines };
}

/** Close the receivers (the events running get the grace period). */
export async function closeEvents(
  running: RunningEvents,
  options: EventCloseOptions = {},
): Promise<void> {
  await Promise.all([running.puller?.close(options), running.subscriber?.close(options)]);
}
