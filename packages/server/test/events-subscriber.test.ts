/**
 * The Subscriber: events published by a raw PUB socket (as zerorpc-python's
 * Publisher sends them, or with a topic frame before them) run as
 * registered methods; with topics, only the events named.
 */
import { Registry } from '@zrpc/core';
import { eventOf, eventScenario } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import type { Publisher } from 'zeromq';
import { Subscriber } from '../src/index.js';
import { eventFrame, eventsPerTest, until } from './events-helpers.js';
import { withPlainBytes } from './helpers.js';

const events = eventsPerTest();

/**
 * A subscriber hears only what is published after its subscription reached
 * the publisher: publish `probe` until one arrives, so that what follows is heard.
 */
async function whenSubscribed(pub: Publisher, heard: () => boolean, probe: Buffer[]) {
  for (let i = 0; i < 3000 && !heard(); i++) {
    await pub.send(probe);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!heard()) throw new Error('the subscriber never heard the probe');
}

describe('running published events', () => {
  it("runs what zerorpc-python's Publisher sent (recorded): it subscribes to everything", async () => {
    const registry = new Registry();
    const ran: unknown[][] = [];
    let probes = 0;
    registry.register(function probe() {
      probes++;
    });
    registry.register(function price_changed(symbol: string, price: number) {
      ran.push(['price_changed', symbol, price]);
    });
    registry.register(function heartbeat_of_service() {
      ran.push(['heartbeat_of_service']);
    });
    const { pub, endpoint } = await events.publisher();
    const { subscriber } = await events.subscriber(endpoint, { registry });
    await whenSubscribed(pub, () => probes > 0, [eventFrame('probe', [])]);

    const scenario = eventScenario('publisher_to_sub');
    for (const message of scenario.events) await pub.send(message.frames);
    await until(() => ran.length === scenario.events.length, 'every recorded event to run');
    expect(withPlainBytes(ran)).toEqual(
      scenario.events.map((message) => {
        const { name, args } = eventOf(message.event);
        return [name, ...(args as unknown[])];
      }),
    );
    expect(subscriber.stats.ok).toBe(probes + scenario.events.length);
  });

  it('with topics, runs only the events named (sent with a topic frame first)', async () => {
    const registry = new Registry();
    const ran: string[] = [];
    registry.register(function ticket_created(id: number) {
      ran.push(`created ${id}`);
    });
    registry.register(function ticket_closed(id: number) {
      ran.push(`closed ${id}`);
    });
    registry.register(function ticket_created_twice(id: number) {
      ran.push(`twice ${id}`);
    });
    const { pub, endpoint } = await events.publisher();
    const { subscriber } = await events.subscriber(endpoint, {
      registry,
      topics: ['ticket_created'],
    });
    const topicFrame = (name: string, args: unknown[]) => [
      Buffer.from(name),
      eventFrame(name, args),
    ];
    await whenSubscribed(pub, () => ran.length > 0, topicFrame('ticket_created', [0]));
    const before = ran.length;
    await pub.send(topicFrame('ticket_closed', [1])); // not subscribed: ZeroMQ filters it
    await pub.send(topicFrame('ticket_created_twice', [2])); // the prefix matches: dropped here
    await pub.send(eventFrame('ticket_created', [3])); // no topic frame: ZeroMQ filters it
    await pub.send([Buffer.from('ticket_created'), eventFrame('ticket_closed', [4])]); // a lying topic
    await pub.send(topicFrame('ticket_created', [5]));
    await until(() => ran.length === before + 1, 'the last event to run');
    expect(ran.slice(before)).toEqual(['created 5']);
    expect(subscriber.stats.filtered).toBe(2);
  });

  it('refuses an empty or malformed topic list', () => {
    expect(() => new Subscriber({ topics: [] })).toThrow(/at least one event name/);
    expect(() => new Subscriber({ topics: [''] })).toThrow(/at least one event name/);
  });
});
