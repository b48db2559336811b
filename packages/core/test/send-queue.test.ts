import { describe, expect, it } from 'vitest';
import { Dealer, Router } from 'zeromq';
import { SendQueue } from '../src/protocol.js';

/**
 * Let every pending promise and I/O callback run: two turns of the event
 * loop, because a pump that has been sending for more than its turn (5 ms,
 * easily reached on a loaded machine) yields one turn before its next send.
 */
const settle = async () => {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** Whether `promise` has settled by now. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await settle();
  return settled;
}

/**
 * A send whose completions the test controls, counting how many sends are
 * in flight at once.
 */
function gatedSend<M>() {
  const gate = {
    started: [] as M[],
    inFlight: 0,
    maxInFlight: 0,
    completions: [] as Array<() => void>,
    send: (message: M) => {
      gate.started.push(message);
      gate.inFlight++;
      gate.maxInFlight = Math.max(gate.maxInFlight, gate.inFlight);
      return new Promise<void>((resolve) =>
        gate.completions.push(() => {
          gate.inFlight--;
          resolve();
        }),
      );
    },
    /** Complete the oldest send in flight, and let the queue react. */
    async complete() {
      gate.completions.shift()!();
      await settle();
    },
  };
  return gate;
}

const failOnError = (error: unknown) => {
  throw error;
};

describe('SendQueue', () => {
  it('sends in order, one at a time', async () => {
    const gate = gatedSend<number>();
    const queue = new SendQueue(gate.send, failOnError);
    for (let i = 1; i <= 5; i++) queue.push(i);
    await settle();
    expect(gate.started).toEqual([1]);
    expect(queue.size).toBe(4);
    for (let done = 1; done < 5; done++) {
      await gate.complete();
      expect(gate.started).toHaveLength(done + 1);
    }
    await gate.complete();
    expect(gate.started).toEqual([1, 2, 3, 4, 5]);
    expect(gate.maxInFlight).toBe(1);
    expect(queue.size).toBe(0);
  });

  it("sends a turn's first message at once, and what follows in the turn together at its end", async () => {
    const sent: number[] = [];
    const queue = new SendQueue((m: number) => {
      sent.push(m);
      return Promise.resolve();
    }, failOnError);
    queue.push(1);
    expect(sent).toEqual([1]);
    await Promise.resolve();
    queue.push(2);
    queue.push(3);
    // Later in the same turn (microtasks included): not yet.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(sent).toEqual([1]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(sent).toEqual([1, 2, 3]);
    // A new turn: its first message goes at once again.
    queue.push(4);
    expect(sent).toEqual([1, 2, 3, 4]);
    await queue.idle();
  });

  it('room() waits while the queue holds highWater messages, and resumes below it', async () => {
    const gate = gatedSend<number>();
    const queue = new SendQueue(gate.send, failOnError, 3);
    queue.push(1); // in flight, no longer counted
    for (let i = 2; i <= 4; i++) queue.push(i);
    expect(queue.size).toBe(3);
    const room = queue.room();
    expect(await isSettled(room)).toBe(false);
    await gate.complete();
    expect(queue.size).toBe(2);
    expect(await isSettled(room)).toBe(true);
    expect(await isSettled(queue.room())).toBe(true);
  });

  it('idle() resolves once everything queued so far has been sent', async () => {
    const gate = gatedSend<string>();
    const queue = new SendQueue(gate.send, failOnError);
    expect(await isSettled(queue.idle())).toBe(true);
    queue.push('a');
    queue.push('b');
    const idle = queue.idle();
    await gate.complete();
    expect(await isSettled(idle)).toBe(false);
    await gate.complete();
    expect(await isSettled(idle)).toBe(true);
  });

  it('starts again after going idle', async () => {
    const sent: number[] = [];
    const queue = new SendQueue(async (m: number) => void sent.push(m), failOnError);
    queue.push(1);
    await queue.idle();
    queue.push(2);
    await queue.idle();
    expect(sent).toEqual([1, 2]);
  });

  it('reports a failed send to onError and keeps going', async () => {
    const sent: string[] = [];
    const errors: Array<[unknown, string]> = [];
    const queue = new SendQueue(
      (m: string) => {
        if (m === 'sync') throw new Error('sync failure');
        if (m === 'async') return Promise.reject(new Error('async failure'));
        sent.push(m);
        return Promise.resolve();
      },
      (error, message) => errors.push([error, message]),
    );
    for (const m of ['a', 'sync', 'b', 'async', 'c']) queue.push(m);
    await queue.idle();
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(errors.map(([error, message]) => [(error as Error).message, message])).toEqual([
      ['sync failure', 'sync'],
      ['async failure', 'async'],
    ]);
  });

  it('keeps order over many messages', async () => {
    const sent: number[] = [];
    const queue = new SendQueue(async (m: number) => void sent.push(m), failOnError, 100);
    const COUNT = 5000;
    for (let i = 0; i < COUNT; i++) queue.push(i);
    await queue.idle();
    expect(sent).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  it('serializes sends on a real zeromq socket, and pushes back while the peer does not read', async () => {
    const router = new Router({ linger: 0 });
    const dealer = new Dealer({ linger: 0, sendHighWaterMark: 1 });
    try {
      await router.bind('tcp://127.0.0.1:*');
      dealer.connect(router.lastEndpoint!);
      const errors: unknown[] = [];
      const queue = new SendQueue(
        (frames: Buffer[]) => dealer.send(frames),
        (error) => errors.push(error),
        100,
      );
      // Far more than the kernel buffers hold: sends block until the router reads.
      const COUNT = 1000;
      const body = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < COUNT; i++) queue.push([Buffer.alloc(0), Buffer.from(String(i)), body]);
      const room = queue.room();
      expect(await isSettled(room)).toBe(false);

      const received: number[] = [];
      while (received.length < COUNT) {
        const [, , index, payload] = await router.receive();
        expect(payload!.length).toBe(body.length);
        received.push(Number(index!.toString()));
      }
      await room;
      await queue.idle();
      expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(errors).toEqual([]);
    } finally {
      dealer.close();
      router.close();
    }
  });
});
