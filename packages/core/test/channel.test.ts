import { recordedEvent, type Scenario } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { LostRemoteError } from '../src/index.js';
import { CANCEL, HEARTBEAT, MORE, type ZEvent, ZRPC_HEARTBEAT_KEY } from '../src/protocol.js';
import {
  ChannelHarness,
  HEARTBEAT_MS,
  recordedTimes,
  replayClient,
  replayServer,
  TICK_MS,
} from './support/fake-clock.js';
import { scenario, scenariosOf, VECTOR_FILES } from './support/vectors.js';

const event = (name: string, args: unknown = [0]): ZEvent => ({
  header: { message_id: 'm', v: 3, response_to: 'c' },
  name,
  args,
});

/** Each of `ours` within one tick of the recorded time at the same position. */
function expectAtRecordedTimes(ours: number[], recorded: number[]): void {
  expect(ours).toHaveLength(recorded.length);
  ours.forEach((at, i) => {
    expect(at).toBeGreaterThanOrEqual(recorded[i]! - TICK_MS);
    expect(at).toBeLessThanOrEqual(recorded[i]! + TICK_MS);
  });
}

/** The recorded `_zpc_more` grants, with how many items the server had sent before each. */
function recordedGrants(s: Scenario): Array<{ grant: number; itemsBefore: number }> {
  let items = 0;
  const grants: Array<{ grant: number; itemsBefore: number }> = [];
  for (const e of s.events) {
    if (e.dir === 's2c' && e.event[1] === 'STREAM') items++;
    if (e.dir === 'c2s' && e.event[1] === MORE) {
      grants.push({ grant: (e.event[2] as number[])[0]!, itemsBefore: items });
    }
  }
  return grants;
}

describe.each(VECTOR_FILES)('flow control against %s', (file) => {
  describe('stream_250', () => {
    const s = scenario(file, 'stream_250');
    const grants = recordedGrants(s);

    it('the recording grants [100], then [51] four times', () => {
      expect(grants.map((g) => g.grant)).toEqual([100, 51, 51, 51, 51]);
    });

    it('the client grants exactly the recorded values, never later than the reference did', () => {
      const client = replayClient(s);
      const ours = client.emissionsOf(MORE);
      expect(ours.map((e) => e.args)).toEqual(grants.map((g) => [g.grant]));
      ours.forEach((emission, i) => {
        // Granted after at most the items the reference server had sent
        // before it saw this grant: otherwise it could not have sent them.
        expect(emission.delivered).toBeLessThanOrEqual(grants[i]!.itemsBefore);
      });
      expect(client.delivered.map((e) => e.args)).toEqual([
        ...Array.from({ length: 250 }, (_, i) => i),
        recordedEvent(s.events.at(-1)!).args,
      ]);
      expect(client.lost).toEqual([]);
    });

    it('a server replaying the recorded sends always has credit for them', () => {
      const server = replayServer(s);
      expect(server.emissionsOf('STREAM')).toHaveLength(250);
      expect(server.emissionsOf('STREAM_DONE')).toHaveLength(1);
      expect(server.delivered).toEqual([]);
    });

    it('an eager server sends as much as credit allows: as much as the reference when credit was its only limit', () => {
      const server = new ChannelHarness();
      const ITEMS = 250;
      let next = 0;
      const pump = () => {
        for (; server.channel.canSend && next <= ITEMS; next++) {
          if (next < ITEMS) server.channel.send('STREAM', next);
          else server.channel.send('STREAM_DONE', null);
        }
      };
      server.onWritable = pump;
      pump();
      const sent = () => server.emitted.filter((e) => e.name.startsWith('STREAM')).length;

      let credit = 1;
      let exhaustedPoints = 0;
      let waitingForCredit = 0;
      const requestGrants = s.events.filter((e) => e.dir === 'c2s' && e.event[1] === MORE);
      requestGrants.forEach((e, i) => {
        const theirs = grants[i]!.itemsBefore;
        expect(sent()).toBeLessThanOrEqual(credit);
        expect(sent()).toBeGreaterThanOrEqual(theirs);
        if (theirs === credit) {
          // The reference had spent all its credit and was waiting for this grant.
          expect(sent()).toBe(theirs);
          exhaustedPoints++;
        }
        if (sent() === credit) waitingForCredit++;
        server.receive(recordedEvent(e), e.t_ms);
        credit += grants[i]!.grant;
      });
      expect(exhaustedPoints).toBeGreaterThanOrEqual(2);
      expect(waitingForCredit).toBeGreaterThan(0);
      expect(sent()).toBe(ITEMS + 1);
      expect(server.emitted.at(-1)!.name).toBe('STREAM_DONE');
      // It resumed (writable) at each grant that found it out of credit.
      expect(server.writable).toHaveLength(waitingForCredit);
    });
  });

  it.each(scenariosOf(file).map((s) => [s.name, s] as const))(
    '%s: the client sends the recorded _zpc_more values',
    (_name, s) => {
      const ours = replayClient(s).emissionsOf(MORE);
      expect(ours.map((e) => e.args)).toEqual(recordedGrants(s).map((g) => [g.grant]));
    },
  );
});

describe.each(VECTOR_FILES)('heartbeats against %s', (file) => {
  describe.each(['heartbeat_slow_call', 'heartbeat_slow_stream'])('%s', (name) => {
    const s = scenario(file, name);
    const appEvents = (dir: 'c2s' | 's2c') =>
      s.events.filter((e) => e.dir === dir && ![HEARTBEAT, MORE].includes(e.event[1]));

    it('the client heart-beats where the reference client did, and delivers only the replies', () => {
      const client = replayClient(s);
      expectAtRecordedTimes(
        client.emissionsOf(HEARTBEAT).map((e) => e.at),
        recordedTimes(s, 'c2s', HEARTBEAT),
      );
      for (const hb of client.emissionsOf(HEARTBEAT)) expect(hb.args).toEqual([0]);
      expect(client.delivered.map((e) => e.name)).toEqual(appEvents('s2c').map((e) => e.event[1]));
      const items = client.delivered.filter((e) => e.name !== 'STREAM_DONE');
      const values = items.map((e) => (e.name === 'OK' ? (e.args as unknown[])[0] : e.args));
      expect(name === 'heartbeat_slow_call' ? values[0] : values).toEqual(s.client_saw.ok);
      expect(client.lost).toEqual([]);
    });

    it('the server heart-beats where the reference server did, and delivers nothing', () => {
      const server = replayServer(s);
      expectAtRecordedTimes(
        server.emissionsOf(HEARTBEAT).map((e) => e.at),
        recordedTimes(s, 's2c', HEARTBEAT),
      );
      expect(server.delivered).toEqual([]);
      expect(server.emitted.filter((e) => e.name !== HEARTBEAT).map((e) => e.name)).toEqual(
        appEvents('s2c').map((e) => e.event[1]),
      );
      expect(server.lost).toEqual([]);
    });
  });
});

describe('lost remote, against the silent zerorpc-node server', () => {
  const LOST = /^Lost remote after ([\d.]+)s heartbeat$/;
  const silent = scenariosOf('zerorpc-node-server.json').filter(
    (s) => s.client_saw.error?.[0] === 'LostRemote',
  );

  it('has scenarios where the reference client lost the server', () => {
    expect(silent.map((s) => s.name)).toEqual(['unknown_method', 'list', 'name', 'help']);
  });

  it.each(silent.map((s) => [s.name, s] as const))(
    '%s: the client declares the server lost after two heartbeats, like the reference',
    (_name, s) => {
      const client = replayClient(s);
      expect(client.lost).toHaveLength(1);
      const { error, at } = client.lost[0]!;
      expect(at).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
      expect(at).toBeLessThanOrEqual(2 * HEARTBEAT_MS + TICK_MS);
      // The reference also waited two heartbeats: its client spoke until then.
      expect(Math.max(...s.events.map((e) => e.t_ms))).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
      const [kind, message] = s.client_saw.error!;
      expect([error.name, kind]).toEqual(['LostRemoteError', 'LostRemote']);
      // Python prints the 2.0 it was configured with; the seconds are the same.
      expect(Number(LOST.exec(error.message)![1])).toBe(Number(LOST.exec(message)![1]));
      expect(error.message).toBe('Lost remote after 2s heartbeat');
      const beforeLost = recordedTimes(s, 'c2s', HEARTBEAT).filter((t) => t < at);
      expectAtRecordedTimes(
        client.emissionsOf(HEARTBEAT).map((e) => e.at),
        beforeLost,
      );
    },
  );
});

describe('Channel, unit by unit', () => {
  describe('lost detection', () => {
    it('declares the remote lost after exactly two silent intervals, once', () => {
      const h = new ChannelHarness();
      for (let t = 0; t < 2 * HEARTBEAT_MS; t += 100) h.tick(t);
      h.tick(2 * HEARTBEAT_MS - 1);
      expect(h.lost).toEqual([]);
      h.tick(2 * HEARTBEAT_MS);
      expect(h.lost).toHaveLength(1);
      const { error } = h.lost[0]!;
      expect(error).toBeInstanceOf(LostRemoteError);
      expect(error.message).toBe('Lost remote after 2s heartbeat');
      expect(error.heartbeatMs).toBe(HEARTBEAT_MS);
      expect(h.channel.closed).toBe(true);
      h.tick(5 * HEARTBEAT_MS);
      h.receive(event(HEARTBEAT), 5 * HEARTBEAT_MS);
      expect(h.lost).toHaveLength(1);
    });

    it('words the message like the reference for its default heartbeat', () => {
      expect(new LostRemoteError(5000).message).toBe('Lost remote after 10s heartbeat');
    });

    it.each([
      ['a _zpc_more', event(MORE, [1])],
      ['an invalid _zpc_more', event(MORE, ['x'])],
      ['an application event', event('STREAM', 1)],
    ])('any event resets the silence: %s', (_label, incoming) => {
      const h = new ChannelHarness();
      h.tick(HEARTBEAT_MS);
      h.receive(incoming, 1500);
      h.tick(2 * HEARTBEAT_MS);
      h.tick(3499);
      expect(h.lost).toEqual([]);
      h.tick(3500);
      expect(h.lost).toHaveLength(1);
    });

    it('a tick long after its deadline (a stalled process) does not declare the remote lost at once', () => {
      const h = new ChannelHarness();
      h.tick(10_000);
      expect(h.lost).toEqual([]);
      expect(h.emissionsOf(HEARTBEAT)).toHaveLength(1);
      // The remote's heartbeats were waiting unread: they arrive now.
      h.receive(event(HEARTBEAT), 10_001);
      h.tick(11_000);
      expect(h.lost).toEqual([]);
    });

    it('after a stall, a remote that stays silent is lost one interval later', () => {
      const h = new ChannelHarness();
      h.tick(10_000);
      h.tick(10_999);
      expect(h.lost).toEqual([]);
      h.tick(11_000);
      expect(h.lost).toHaveLength(1);
    });
  });

  describe('heartbeats', () => {
    it('sends _zpc_hb [0] every interval and tells when to tick next', () => {
      const h = new ChannelHarness();
      expect(h.channel.deadline).toBe(HEARTBEAT_MS);
      h.tick(999);
      expect(h.emissionsOf(HEARTBEAT)).toEqual([]);
      for (let t = HEARTBEAT_MS; t <= 5 * HEARTBEAT_MS; t += HEARTBEAT_MS) {
        h.receive(event(HEARTBEAT), t - 1);
        expect(h.channel.deadline).toBe(t);
        h.tick(t);
      }
      expect(h.emissionsOf(HEARTBEAT).map((e) => [e.at, e.args])).toEqual(
        [1, 2, 3, 4, 5].map((n) => [n * HEARTBEAT_MS, [0]]),
      );
    });

    it('the deadline is the loss deadline when that comes first', () => {
      const h = new ChannelHarness();
      h.tick(HEARTBEAT_MS);
      expect(h.channel.deadline).toBe(2 * HEARTBEAT_MS);
    });

    it('a closed channel neither heart-beats nor delivers', () => {
      const h = new ChannelHarness();
      h.channel.close();
      h.tick(HEARTBEAT_MS);
      h.receive(event('OK', [1]), HEARTBEAT_MS);
      h.channel.pull();
      h.channel.pull();
      expect(h.emitted).toEqual([]);
      expect(h.delivered).toEqual([]);
      expect(h.channel.canSend).toBe(false);
      expect(() => h.channel.send('OK', [1])).toThrow(/closed/);
    });
  });

  describe('credit', () => {
    it('starts with one credit; sending without credit throws', () => {
      const h = new ChannelHarness();
      expect(h.channel.canSend).toBe(true);
      h.channel.send('STREAM', 0);
      expect(h.channel.canSend).toBe(false);
      expect(() => h.channel.send('STREAM', 1)).toThrow(/no credit/);
      expect(h.emitted.map((e) => e.args)).toEqual([0]);
    });

    it('writable() fires when credit comes back, and only then', () => {
      const h = new ChannelHarness();
      h.receive(event(MORE, [2]), 1);
      expect(h.writable).toEqual([]); // it still had its first credit
      for (let i = 0; i < 3; i++) h.channel.send('STREAM', i);
      expect(h.channel.canSend).toBe(false);
      h.receive(event(MORE, [0]), 2);
      expect(h.writable).toEqual([]);
      h.receive(event(MORE, [5]), 3);
      expect(h.writable).toEqual([3]);
      expect(h.channel.canSend).toBe(true);
      h.receive(event(MORE, [5]), 4);
      expect(h.writable).toEqual([3]);
    });

    it.each([
      ['a negative count', [-1]],
      ['a fraction', [1.5]],
      ['a string', ['5']],
      ['a bigint', [5n]],
      ['NaN', [Number.NaN]],
      ['Infinity', [Number.POSITIVE_INFINITY]],
      ['no count', []],
      ['nil', null],
      ['a bare number', 5],
      ['a map', { n: 5 }],
    ])('ignores a _zpc_more with %s', (_label, args) => {
      const h = new ChannelHarness();
      h.channel.send('STREAM', 0);
      h.receive(event(MORE, args), 1);
      expect(h.channel.canSend).toBe(false);
      expect(h.writable).toEqual([]);
      expect(h.delivered).toEqual([]);
      // The credit is untouched: one valid grant of 1 makes it writable again.
      h.receive(event(MORE, [1]), 2);
      expect(h.writable).toEqual([2]);
    });
  });

  describe('delivery and pulls', () => {
    it('delivers application events, never control events', () => {
      const h = new ChannelHarness();
      h.receive(event(HEARTBEAT), 1);
      h.receive(event(MORE, [10]), 2);
      h.receive(event('STREAM', 'x'), 3);
      h.receive(event('ERR', ['E', 'm', '']), 4);
      expect(h.delivered.map((e) => e.name)).toEqual(['STREAM', 'ERR']);
    });

    it('grants like the reference: nothing for the first pull, then tops up below half', () => {
      const h = new ChannelHarness({ inputQueueSize: 10 });
      const grantsAfterPulls = (pulls: number) => {
        for (let i = 0; i < pulls; i++) h.channel.pull();
        return h.emissionsOf(MORE).map((e) => e.args);
      };
      expect(grantsAfterPulls(1)).toEqual([]);
      // Second pull: 0 slots reserved, so it grants the whole buffer.
      expect(grantsAfterPulls(1)).toEqual([[10]]);
      // Reserved: 9 after it, then one less per pull; at 4 (< 10 / 2) it tops up to 10.
      expect(grantsAfterPulls(5)).toEqual([[10]]);
      expect(grantsAfterPulls(1)).toEqual([[10], [6]]);
    });

    it('tops up earlier with topUpBelow: never more than the window granted and unconsumed', () => {
      const h = new ChannelHarness({ inputQueueSize: 8, topUpBelow: 6 });
      const grantsAfterPulls = (pulls: number) => {
        for (let i = 0; i < pulls; i++) h.channel.pull();
        return h.emissionsOf(MORE).map((e) => e.args);
      };
      expect(grantsAfterPulls(2)).toEqual([[8]]);
      // Reserved 7 after it; the pull that finds 5 (< 6) left tops up by 3.
      expect(grantsAfterPulls(2)).toEqual([[8]]);
      expect(grantsAfterPulls(1)).toEqual([[8], [3]]);
      expect(grantsAfterPulls(2)).toEqual([[8], [3]]);
      expect(grantsAfterPulls(1)).toEqual([[8], [3], [3]]);
    });
  });
});

describe('heartbeats that differ (both sides zrpc, or a reference peer)', () => {
  /** Tick every 100 ms up to `to` (a live process ticks at least that often). */
  const tickTo = (h: ChannelHarness, to: number) => {
    for (let t = Math.ceil((h.now + 1) / 100) * 100; t < to; t += 100) h.tick(t);
    h.tick(to);
  };
  const advertising = (name: string, ms: number): ZEvent => ({
    header: { message_id: 'm', v: 3, [ZRPC_HEARTBEAT_KEY]: ms },
    name,
    args: [0],
  });

  it('a slower zrpc remote that advertised its interval gets two of its intervals, not two of ours', () => {
    const h = new ChannelHarness({ heartbeatMs: 1000 });
    h.receive(advertising('OK', 5000), 10);
    tickTo(h, 9999);
    expect(h.lost).toEqual([]);
    tickTo(h, 10_010);
    expect(h.lost).toHaveLength(1);
    expect(h.lost[0]!.error.heartbeatMs).toBe(5000);
  });

  it('a remote advertised in the request: we beat at its faster pace and wait for our slower one', () => {
    const h = new ChannelHarness({ heartbeatMs: 5000, remoteHeartbeatMs: 1000 });
    expect(h.channel.remoteIsZrpc).toBe(true);
    tickTo(h, 4000);
    expect(h.emissionsOf(HEARTBEAT).map((e) => e.at)).toEqual([1000, 2000, 3000, 4000]);
    tickTo(h, 9999);
    expect(h.lost).toEqual([]);
    tickTo(h, 10_000);
    expect(h.lost).toHaveLength(1);
  });

  it('a reference remote of unknown pace gets two assumed intervals for its first heartbeat', () => {
    // A zerorpc-python peer at its default 5 s, us at 1 s: its first
    // heartbeat comes 5 s after the channel opened.
    const h = new ChannelHarness({ heartbeatMs: 1000, assumedRemoteHeartbeatMs: 5000 });
    tickTo(h, 4999);
    expect(h.lost).toEqual([]);
    h.receive(event(HEARTBEAT), 5000);
    h.receive(event(HEARTBEAT), 10_000); // two heartbeats: its pace is 5 s
    tickTo(h, 10_000 + 2 * 5000 - 1);
    expect(h.lost).toEqual([]);
    tickTo(h, 10_000 + 2 * 5000);
    expect(h.lost).toHaveLength(1);
    expect(h.lost[0]!.error.heartbeatMs).toBe(5000);
    expect(h.channel.remoteIsZrpc).toBe(false);
  });

  it('a dead reference remote that never beat is lost after two assumed intervals', () => {
    const h = new ChannelHarness({ heartbeatMs: 1000, assumedRemoteHeartbeatMs: 5000 });
    tickTo(h, 9999);
    expect(h.lost).toEqual([]);
    tickTo(h, 10_000);
    expect(h.lost).toHaveLength(1);
  });

  it('without an assumption, two of our own intervals, as the reference does', () => {
    const h = new ChannelHarness({ heartbeatMs: 1000 });
    tickTo(h, 1999);
    expect(h.lost).toEqual([]);
    tickTo(h, 2000);
    expect(h.lost).toHaveLength(1);
  });

  it('a reference remote faster than assumed is lost within two of its intervals once two heartbeats show its pace', () => {
    const h = new ChannelHarness({ heartbeatMs: 1000, assumedRemoteHeartbeatMs: 5000 });
    h.receive(event(HEARTBEAT), 1000);
    h.receive(event(HEARTBEAT), 2000);
    tickTo(h, 3999);
    expect(h.lost).toEqual([]);
    tickTo(h, 4000);
    expect(h.lost).toHaveLength(1);
  });

  it('the wait for the first heartbeat is not taken as the pace (a request that sat in a queue)', () => {
    // The peer's channel opened 4.5 s before ours: its first heartbeat
    // arrives 0.5 s after ours opened, its second 5 s later.
    const h = new ChannelHarness({ heartbeatMs: 1000, assumedRemoteHeartbeatMs: 5000 });
    h.receive(event(HEARTBEAT), 500);
    tickTo(h, 5499);
    expect(h.lost).toEqual([]);
    h.receive(event(HEARTBEAT), 5500);
    tickTo(h, 15_499);
    expect(h.lost).toEqual([]);
  });

  it('a dead remote is still lost within two intervals of the slower side', () => {
    const h = new ChannelHarness({ heartbeatMs: 1000 });
    h.receive(advertising(HEARTBEAT, 3000), 500);
    tickTo(h, 6499);
    expect(h.lost).toEqual([]);
    tickTo(h, 6500);
    expect(h.lost).toHaveLength(1);
  });
});

describe('_zpc_cancel', () => {
  it('closes the channel and tells a sink that takes cancels', () => {
    const h = new ChannelHarness({ withCancel: true });
    h.receive(event(CANCEL, []), 10);
    expect(h.cancelled).toEqual([10]);
    expect(h.channel.closed).toBe(true);
    expect(h.delivered).toEqual([]);
  });

  it('is delivered like any unexpected event to a sink that does not (a client)', () => {
    const h = new ChannelHarness();
    h.receive(event(CANCEL, []), 10);
    expect(h.delivered.map((e) => e.name)).toEqual([CANCEL]);
    expect(h.channel.closed).toBe(false);
  });
});
