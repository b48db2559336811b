import { type RecordedEvent, recordedEvent, type Scenario } from '@zrpc/testkit';
import type { LostRemoteError } from '../../src/index.js';
import { Channel, HEARTBEAT, MORE, type ZEvent } from '../../src/protocol.js';

/** The heartbeat the recordings were made with. */
export const HEARTBEAT_MS = 1000;
/** The fake clock's resolution. */
export const TICK_MS = 10;

const TERMINAL = new Set(['OK', 'ERR', 'STREAM_DONE']);
const CONTROL = new Set([HEARTBEAT, MORE]);

export interface Emission {
  name: string;
  args: unknown;
  /** Fake time of the emission. */
  at: number;
  /** How many events had been delivered when it was emitted. */
  delivered: number;
}

/**
 * One channel on a fake clock, with a sink that records what it asks for.
 * No sockets, no timers: time moves only when the test says so.
 */
export class ChannelHarness {
  now = 0;
  readonly emitted: Emission[] = [];
  readonly delivered: ZEvent[] = [];
  readonly lost: Array<{ error: LostRemoteError; at: number }> = [];
  readonly writable: number[] = [];
  onDeliver: (event: ZEvent) => void = () => {};
  onWritable: () => void = () => {};
  readonly channel: Channel;

  readonly cancelled: number[] = [];

  constructor(
    options: {
      heartbeatMs?: number;
      inputQueueSize?: number;
      topUpBelow?: number;
      remoteHeartbeatMs?: number;
      assumedRemoteHeartbeatMs?: number;
      withCancel?: boolean;
    } = {},
  ) {
    this.channel = new Channel(
      new Uint8Array(Buffer.from('channel-id')),
      {
        emit: (name, args) =>
          this.emitted.push({ name, args, at: this.now, delivered: this.delivered.length }),
        deliver: (event) => {
          this.delivered.push(event);
          this.onDeliver(event);
        },
        lost: (error) => this.lost.push({ error, at: this.now }),
        writable: () => {
          this.writable.push(this.now);
          this.onWritable();
        },
        cancelled: options.withCancel ? () => this.cancelled.push(this.now) : undefined,
      },
      {
        heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
        now: 0,
        inputQueueSize: options.inputQueueSize,
        remoteHeartbeatMs: options.remoteHeartbeatMs,
        assumedRemoteHeartbeatMs: options.assumedRemoteHeartbeatMs,
        topUpBelow: options.topUpBelow,
      },
    );
  }

  receive(event: ZEvent, at: number): void {
    this.now = at;
    this.channel.receive(event, at);
  }

  tick(at: number): void {
    this.now = at;
    this.channel.tick(at);
  }

  emissionsOf(name: string): Emission[] {
    return this.emitted.filter((e) => e.name === name);
  }
}

/** Something that happens at a recorded time. */
interface Happening {
  at: number;
  run(): void;
}

/**
 * Move the fake clock in TICK_MS steps until the channel closes (or `until`):
 * at each step, first whatever was recorded up to then, then a tick if the
 * channel's deadline has come, as ChannelTimer would do.
 */
function drive(h: ChannelHarness, happenings: Happening[], until: number): void {
  let next = 0;
  for (let now = 0; now <= until && !h.channel.closed; now += TICK_MS) {
    while (next < happenings.length && happenings[next]!.at <= now) {
      const happening = happenings[next++]!;
      h.now = happening.at;
      happening.run();
    }
    if (!h.channel.closed && now >= h.channel.deadline) h.tick(now);
  }
}

const endOf = (scenario: Scenario) => Math.max(...scenario.events.map((e) => e.t_ms));

const isControl = (event: RecordedEvent) => CONTROL.has(event.event[1]);

/**
 * The client side of a recorded conversation: the channel opens with the
 * request at t=0, receives the recorded server events at their times, and
 * its consumer pulls like the reference client (once before the first
 * reply, once after each stream item) until the last reply.
 */
export function replayClient(scenario: Scenario): ChannelHarness {
  const h = new ChannelHarness();
  h.onDeliver = (event) => {
    if (TERMINAL.has(event.name)) h.channel.close();
    else h.channel.pull();
  };
  h.channel.pull();
  const incoming = scenario.events
    .filter((e) => e.dir === 's2c')
    .map((e) => ({ at: e.t_ms, run: () => h.channel.receive(recordedEvent(e), e.t_ms) }));
  drive(h, incoming, endOf(scenario) + 3 * HEARTBEAT_MS);
  return h;
}

/**
 * The server side: the channel opens when the request arrives (t=0),
 * receives the recorded client events after it, and sends the recorded
 * server replies at their times through `send` (which throws without
 * credit). Its heartbeats come from its own ticks.
 */
export function replayServer(scenario: Scenario): ChannelHarness {
  const h = new ChannelHarness();
  const happenings = scenario.events.slice(1).flatMap((e): Happening[] => {
    if (e.dir === 'c2s') {
      return [{ at: e.t_ms, run: () => h.channel.receive(recordedEvent(e), e.t_ms) }];
    }
    if (isControl(e)) return [];
    const { name, args } = recordedEvent(e);
    return [
      {
        at: e.t_ms,
        run: () => {
          h.channel.send(name, args);
          if (TERMINAL.has(name)) h.channel.close();
        },
      },
    ];
  });
  drive(h, happenings, endOf(scenario) + 3 * HEARTBEAT_MS);
  return h;
}

/** Recorded times of one event name in one direction. */
export function recordedTimes(scenario: Scenario, dir: 'c2s' | 's2c', name: string): number[] {
  return scenario.events.filter((e) => e.dir === dir && e.event[1] === name).map((e) => e.t_ms);
}
