import { Dealer } from 'zeromq';
import { decodeFloorEvent, EMPTY_FRAME, encodeFloorEvent } from '../floor-wire.js';
import type { Stack } from './stack.js';

/** Handles one reply event of a request; true once the request is over. */
type OnReply = (name: string, args: unknown) => boolean;

/**
 * The floor's client: one DEALER, replies routed to their request by
 * `response_to`, sends serialized (zeromq.js allows one pending send).
 */
class FloorClient {
  private readonly socket = new Dealer({ linger: 0 });
  private readonly pending = new Map<string, OnReply>();
  private readonly outbox: Uint8Array[] = [];
  private sending = false;
  private nextId = 0;

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    void this.receive();
  }

  request(name: string, args: unknown[], onReply: OnReply): void {
    const id = `${this.nextId++}`;
    this.pending.set(id, onReply);
    this.outbox.push(encodeFloorEvent([{ message_id: id, v: 3 }, name, args]));
    if (!this.sending) void this.flush();
  }

  close(): void {
    this.socket.close();
  }

  private async flush(): Promise<void> {
    this.sending = true;
    for (let payload = this.outbox.shift(); payload; payload = this.outbox.shift()) {
      await this.socket.send([EMPTY_FRAME, payload]);
    }
    this.sending = false;
  }

  private async receive(): Promise<void> {
    for await (const frames of this.socket) {
      const [header, name, args] = decodeFloorEvent(frames);
      const id = header.response_to!;
      if (this.pending.get(id)?.(name, args)) this.pending.delete(id);
    }
  }
}

/** A bare zeromq.js DEALER against the bare ROUTER echo child. */
export function floorStack(endpoint: string): Stack {
  const client = new FloorClient(endpoint);
  const echo = (value: unknown) =>
    new Promise<unknown>((resolve) => {
      client.request('echo', [value], (_name, args) => {
        resolve((args as unknown[])[0]);
        return true;
      });
    });
  return {
    name: 'floor',
    echo,
    echoWide: echo,
    count: (n) =>
      new Promise((resolve) => {
        let items = 0;
        client.request('count', [n], (name) => {
          if (name === 'STREAM') {
            items++;
            return false;
          }
          resolve(items);
          return true;
        });
      }),
    async close() {
      client.close();
    },
  };
}
