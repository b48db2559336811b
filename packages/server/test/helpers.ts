import {
  decodeEvent,
  decodeValue,
  type EventHeader,
  encodeEvent,
  type MessageId,
  MessageIdGenerator,
  type ZEvent,
} from '@zrpc/core';
import { Dealer } from 'zeromq';
import { Server, type ServerOptions } from '../src/index.js';

/** A server bound to a fresh loopback port; `endpoint` is where it listens. */
export async function startServer(
  options: ServerOptions = {},
  endpoint = 'tcp://127.0.0.1:*',
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ logger: quietLogger(), ...options });
  await server.bind(endpoint);
  return { server, endpoint: server.endpoints[0]! };
}

/** A logger that remembers what it was told, for tests that check logging. */
export function quietLogger() {
  const lines: Array<{ level: string; args: unknown[] }> = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push({ level, args });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export interface Received {
  event: ZEvent;
  /** The header decoded on its own, to check msgpack types (bin vs str). */
  raw: Buffer;
}

/**
 * A raw DEALER speaking the wire protocol by hand, as a reference client
 * would. A background loop reads everything into an inbox; `next()` takes
 * from it in order, with a bound so a test never hangs.
 */
export class RawClient {
  readonly socket = new Dealer({ linger: 0 });
  readonly ids = new MessageIdGenerator();
  /** Every event received, in order. */
  readonly received: Received[] = [];
  private taken = 0;
  private wake: (() => void) | undefined;
  private readonly reading: Promise<void>;

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    this.reading = this.read();
  }

  /** Send a request; returns its message id. */
  request(name: string, args: unknown, header: Partial<EventHeader> = {}): MessageId {
    const id = header.message_id ?? this.ids.next();
    this.sendEvent({ message_id: id, v: 3, ...header }, name, args);
    return id;
  }

  /** Send an event on the channel `id` (`_zpc_more`, `_zpc_hb`, ...). */
  onChannel(id: MessageId, name: string, args: unknown): void {
    this.sendEvent({ message_id: this.ids.next(), v: 3, response_to: id }, name, args);
  }

  sendEvent(header: EventHeader, name: string, args: unknown): void {
    this.sendFrames([Buffer.alloc(0), Buffer.from(encodeEvent({ header, name, args }))]);
  }

  sendFrames(frames: Buffer[]): void {
    void this.socket.send(frames);
  }

  /** The next event not yet taken. */
  async next(timeoutMs = 5000): Promise<Received> {
    await this.until(() => this.received.length > this.taken, timeoutMs, 'an event');
    return this.received[this.taken++]!;
  }

  /** The next event that is not a heartbeat. */
  async nextReply(timeoutMs = 5000): Promise<ZEvent> {
    for (;;) {
      const { event } = await this.next(timeoutMs);
      if (event.name !== '_zpc_hb') return event;
    }
  }

  /** Wait until `condition()` holds, re-checking on each event; rejects after `timeoutMs`. */
  async until(condition: () => boolean, timeoutMs: number, what = 'the condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): Promise<void> {
    this.socket.close();
    return this.reading;
  }

  private async read(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return; // closed
      }
      const raw = frames[frames.length - 1]!;
      this.received.push({ event: decodeEvent(raw), raw });
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    }
  }
}

/** The header of a received payload, decoded as plain msgpack. */
export function headerOf(raw: Buffer): Record<string, unknown> {
  return (decodeValue(raw) as [Record<string, unknown>])[0];
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
