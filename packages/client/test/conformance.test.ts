import { LostRemoteError, RemoteError, TimeoutError } from '@zrpc/core';
import { messageIdKey, PROTOCOL_VERSION } from '@zrpc/core/protocol';
import {
  fromRendered,
  loadVectors,
  type Scenario,
  until,
  type VectorFileName,
} from '@zrpc/testkit';
import { describe, expect, test } from 'vitest';
import { Client, DEFAULT_CREDIT, REFERENCE_CREDIT, RemoteStream } from '../src/index.js';
import { ReplayServer, type Session } from './helpers/replay-server.js';

// As recorded: heartbeat 1 s, timeout 10 s (1 s in client_timeout).
const HEARTBEAT_MS = 1000;
const timeoutOf = (scenario: Scenario) => (scenario.name === 'client_timeout' ? 1000 : 10_000);

const files: VectorFileName[] = ['zerorpc-python-server.json', 'zerorpc-node-server.json'];

/** What the client made of a call: the value (a stream collected), or the error. */
async function outcome(
  client: Client,
  scenario: Scenario,
): Promise<{ value?: unknown; error?: unknown }> {
  const [, name, args] = scenario.events[0]!.event;
  try {
    const reply = await client.call(name, ...(fromRendered(args) as unknown[]));
    if (!(reply instanceof RemoteStream)) return { value: reply };
    const items: unknown[] = [];
    for await (const item of reply) items.push(item);
    return { value: items };
  } catch (error) {
    return { error };
  }
}

function expectClientSaw(scenario: Scenario, result: { value?: unknown; error?: unknown }) {
  const saw = scenario.client_saw;
  if ('ok' in saw) {
    expect(result.error).toBeUndefined();
    expect(result.value).toEqual(fromRendered(saw.ok));
  } else if (saw.remote_error) {
    expect(result.error).toBeInstanceOf(RemoteError);
    const error = result.error as RemoteError;
    expect([error.remoteName, error.remoteMessage]).toEqual(saw.remote_error);
  } else {
    const [type, message] = saw.error!;
    if (type === 'LostRemote') {
      expect(result.error).toBeInstanceOf(LostRemoteError);
      expect((result.error as LostRemoteError).heartbeatMs).toBe(HEARTBEAT_MS);
      // "Lost remote after 2.0s heartbeat" (Python formats the float its way).
      const seconds = Number(/after ([\d.]+)s/.exec(message)![1]);
      expect((result.error as Error).message).toBe(`Lost remote after ${seconds}s heartbeat`);
    } else {
      expect(type).toBe('TimeoutExpired');
      expect(result.error).toBeInstanceOf(TimeoutError);
      expect((result.error as Error).name).toBe('TimeoutError');
      expect((result.error as Error).message).toBe(message);
    }
  }
}

/** The c2s events after the request, in the recording. */
function recordedControl(scenario: Scenario, name: string): unknown[] {
  return scenario.events
    .slice(1)
    .filter((e) => e.dir === 'c2s' && e.event[1] === name)
    .map((e) => fromRendered(e.event[2]));
}

function expectSameControlEvents(scenario: Scenario, session: Session) {
  const { request, events } = session;
  // The request: same method and args, a fresh bin id, protocol v3.
  const [, name, args] = scenario.events[0]!.event;
  expect(request.name).toBe(name);
  expect(request.args).toEqual(fromRendered(args));
  expect(request.header.message_id).toBeInstanceOf(Uint8Array);
  expect((request.header.message_id as Uint8Array).length).toBe(32);
  expect(request.header.v).toBe(PROTOCOL_VERSION);
  expect(request.header.response_to).toBeUndefined();

  // Later events: on the request's channel (same id, same msgpack type), fresh ids.
  const ids = new Set([messageIdKey(request.header.message_id)]);
  for (const { event } of events) {
    expect(messageIdKey(event.header.response_to)).toBe(messageIdKey(request.header.message_id));
    expect(event.header.v).toBe(PROTOCOL_VERSION);
    ids.add(messageIdKey(event.header.message_id));
    expect(['_zpc_more', '_zpc_hb']).toContain(event.name);
  }
  expect(ids.size).toBe(events.length + 1);

  // Credit: exactly the reference's grants, in order ([100], then [51]s),
  // the first one only once the first reply has arrived.
  const more = events.filter((r) => r.event.name === '_zpc_more');
  expect(more.map((r) => r.event.args)).toEqual(recordedControl(scenario, '_zpc_more'));
  if (more.length > 0) expect(more[0]!.afterSent).toBeGreaterThanOrEqual(1);

  // Heartbeats: as many as recorded, give or take the one at a boundary.
  const beats = events.filter((r) => r.event.name === '_zpc_hb');
  for (const beat of beats) expect(beat.event.args).toEqual([0]);
  const recordedBeats = recordedControl(scenario, '_zpc_hb').length;
  expect(beats.length).toBeGreaterThanOrEqual(recordedBeats - 1);
  expect(beats.length).toBeLessThanOrEqual(recordedBeats + 1);
  // ...roughly one per heartbeat interval, never a burst.
  beats.forEach((beat, i) => {
    expect(beat.at).toBeGreaterThan((i + 0.5) * HEARTBEAT_MS);
  });
}

for (const file of files) {
  const vectors = loadVectors(file);

  // The grants are checked event for event: the client grants as the reference does here.
  describe.concurrent(`client against the recorded ${vectors.server.split(' ')[0]} server`, () => {
    for (const scenario of vectors.scenarios) {
      test(scenario.name, async () => {
        const server = await ReplayServer.start([scenario]);
        const client = new Client({
          endpoints: server.endpoint,
          heartbeatMs: HEARTBEAT_MS,
          // The recorded peers beat at this pace too (and do not advertise it).
          assumedPeerHeartbeatMs: HEARTBEAT_MS,
          timeoutMs: timeoutOf(scenario),
          credit: REFERENCE_CREDIT,
        });
        try {
          const result = await outcome(client, scenario);
          server.settle();
          expectClientSaw(scenario, result);
          expect(client.openChannels).toBe(0);

          expect(server.unmatched).toEqual([]);
          expect(server.sessions).toHaveLength(1);
          const session = server.sessions[0]!;
          await session.done;
          expectSameControlEvents(scenario, session);

          // Whatever the server sent after the client gave up is dropped and counted.
          if (session.sentAfterSettle > 0) {
            await until(() => client.droppedEvents >= session.sentAfterSettle);
          }
          const s2c = scenario.events.filter((e) => e.dir === 's2c').length;
          expect(client.droppedEvents).toBeLessThanOrEqual(s2c);
          if (scenario.name !== 'client_timeout') expect(client.droppedEvents).toBe(0);
          expect(client.openChannels).toBe(0);
        } finally {
          await client.close();
          server.close();
        }
      });
    }
  });
}

// The client's own grants (a wide window, topped up when a quarter is used):
// a reference server, sending only while it holds credit, streams the same.
const streaming = (scenario: Scenario) =>
  scenario.events.some((e) => e.dir === 's2c' && e.event[1] === 'STREAM');

for (const file of files) {
  const vectors = loadVectors(file);
  describe.concurrent(`the default credit rule against the recorded ${vectors.server.split(' ')[0]} server`, () => {
    for (const scenario of vectors.scenarios.filter(streaming)) {
      test(scenario.name, async () => {
        const server = await ReplayServer.start([scenario], { followCredit: true });
        const client = new Client({
          endpoints: server.endpoint,
          heartbeatMs: HEARTBEAT_MS,
          // The recorded peers beat at this pace too (and do not advertise it).
          assumedPeerHeartbeatMs: HEARTBEAT_MS,
          timeoutMs: timeoutOf(scenario),
        });
        try {
          const result = await outcome(client, scenario);
          server.settle();
          expectClientSaw(scenario, result);
          const session = server.sessions[0]!;
          await session.done;
          const grants = session.events
            .filter((r) => r.event.name === '_zpc_more')
            .map((r) => (r.event.args as number[])[0]!);
          // Never more in flight than the window; the first grant fills it.
          if (grants.length > 0) expect(grants[0]).toBe(DEFAULT_CREDIT.window);
          for (const grant of grants) expect(grant).toBeLessThanOrEqual(DEFAULT_CREDIT.window);
          expect(client.droppedEvents).toBe(0);
          expect(client.openChannels).toBe(0);
        } finally {
          await client.close();
          server.close();
        }
      });
    }
  });
}
