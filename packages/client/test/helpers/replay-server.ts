import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { MessageId } from '@zrpc/core';
import {
  decodeEvent,
  encodeEvent,
  messageIdKey,
  monotonicNow,
  openEnvelope,
  type ZEvent,
} from '@zrpc/core/protocol';
import { fromRendered, type Scenario } from '@zrpc/testkit';
import { Router } from 'zeromq';

/** One client event as the fake server received it. */
export interface Received {
  event: ZEvent;
  /** ms after the request. */
  at: number;
  /** How many s2c events the server had sent on the channel by then. */
  afterSent: number;
}

/** One conversation the fake server replayed. */
export interface Session {
  scenario: Scenario;
  request: ZEvent;
  /** Every later event the client sent on the channel, in order. */
  events: Received[];
  /** Recorded s2c events sent after `settle()` (the client had finished). */
  sentAfterSettle: number;
  /** Resolves when every recorded s2c event has been sent. */
  done: Promise<void>;
}

/**
 * A fake zerorpc server made of a raw ROUTER socket that replays recorded
 * conversations. Each request is matched to the scenario recorded with the
 * same method and arguments; its s2c events go out in recorded order, no
 * earlier than recorded (relative to the request), each re-encoded with
 * `response_to` set to the id the client sent (same msgpack type) and
 * otherwise as recorded. Where the recording has the client speak
 * (`_zpc_more`, `_zpc_hb`), the replay waits until this client has sent as
 * many events of that name, or until `settle()`.
 *
 * With `followCredit`, the replay plays a reference server under whatever
 * credit rule this client uses instead: it skips the recorded `_zpc_more`
 * and sends each application event only once the client has granted room
 * for it (the request grants one), as zerorpc-python's channel does.
 */
export class ReplayServer {
  readonly sessions: Session[] = [];
  /** Requests that matched no scenario. */
  readonly unmatched: ZEvent[] = [];
  private readonly byChannel = new Map<string, SessionState>();
  private settled = false;
  private readonly settledSignal: Promise<void>;
  private markSettled!: () => void;
  private sending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly scenarios: readonly Scenario[],
    private readonly router: Router,
    readonly endpoint: string,
    private readonly followCredit: boolean,
  ) {
    this.settledSignal = new Promise((resolve) => {
      this.markSettled = resolve;
    });
  }

  static async start(
    scenarios: readonly Scenario[],
    options: { followCredit?: boolean } = {},
  ): Promise<ReplayServer> {
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    const server = new ReplayServer(
      scenarios,
      router,
      router.lastEndpoint!,
      options.followCredit === true,
    );
    void server.receiveLoop();
    return server;
  }

  /** The client has finished: stop waiting for its events and flush what is left. */
  settle(): void {
    this.settled = true;
    this.markSettled();
  }

  close(): void {
    this.settle();
    this.router.close();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.router) {
        const envelope = openEnvelope(frames)!;
        const { payload } = envelope;
        const event = decodeEvent(
          new Uint8Array(payload.buffer, payload.byteOffset, payload.length),
        );
        const responseTo = event.header.response_to;
        if (responseTo === undefined) this.open(envelope.identity, event);
        else this.byChannel.get(messageIdKey(responseTo)!)?.receive(event);
      }
    } catch {
      // closed
    }
  }

  private open(identity: Buffer[], request: ZEvent): void {
    const args = (request.args as unknown[]) ?? [];
    const scenario = this.scenarios.find((s) => {
      const recorded = s.events[0]!.event;
      return recorded[1] === request.name && isDeepStrictEqual(fromRendered(recorded[2]), args);
    });
    if (scenario === undefined) {
      this.unmatched.push(request);
      return;
    }
    const state = new SessionState(scenario, request);
    this.byChannel.set(messageIdKey(request.header.message_id)!, state);
    state.session.done = this.replay(identity, state);
    this.sessions.push(state.session);
  }

  private async replay(identity: Buffer[], state: SessionState): Promise<void> {
    const counts = new Map<string, number>();
    for (const recorded of state.session.scenario.events.slice(1)) {
      const [, name] = recorded.event;
      if (recorded.dir === 'c2s') {
        if (this.followCredit && name === '_zpc_more') continue;
        const count = (counts.get(name) ?? 0) + 1;
        counts.set(name, count);
        await Promise.race([state.received(name, count), this.settledSignal]);
        continue;
      }
      const wait = state.start + recorded.t_ms - monotonicNow();
      if (!this.settled && wait > 0) await Promise.race([sleep(wait), this.settledSignal]);
      if (this.followCredit && !name.startsWith('_zpc_')) {
        await Promise.race([state.credited(), this.settledSignal]);
        state.spent++;
      }
      if (this.settled) state.session.sentAfterSettle++;
      state.sent++;
      const event = decodeEvent(recorded.frames.at(-1)!);
      event.header.response_to = state.session.request.header.message_id as MessageId;
      const frames = [
        ...identity,
        ...recorded.frames.slice(0, -1),
        Buffer.from(encodeEvent(event)),
      ];
      // One pending send per socket: sessions take turns.
      this.sending = this.sending.then(() => this.router.send(frames)).catch(() => undefined);
      await this.sending;
    }
  }
}

class SessionState {
  readonly start = monotonicNow();
  /** s2c events sent so far. */
  sent = 0;
  /** Application (credit-spending) s2c events sent so far. */
  spent = 0;
  readonly session: Session;
  private waiters: Array<() => void> = [];

  constructor(scenario: Scenario, request: ZEvent) {
    this.session = {
      scenario,
      request,
      events: [],
      sentAfterSettle: 0,
      done: Promise.resolve(),
    };
  }

  receive(event: ZEvent): void {
    this.session.events.push({ event, at: monotonicNow() - this.start, afterSent: this.sent });
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once the client has granted room for one more application event. */
  async credited(): Promise<void> {
    while (this.granted() <= this.spent) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The request's one event plus every `_zpc_more` grant so far. */
  private granted(): number {
    let total = 1;
    for (const { event } of this.session.events) {
      if (event.name === '_zpc_more') total += (event.args as number[])[0]!;
    }
    return total;
  }

  /** Resolves once the client has sent `count` events named `name` on this channel. */
  async received(name: string, count: number): Promise<void> {
    while (this.session.events.filter((r) => r.event.name === name).length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
