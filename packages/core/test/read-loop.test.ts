// The read loop under zeromq.js's sockets: what a message settles runs
// before the loop asks the socket for the next message.
import { describe, expect, it } from 'vitest';
import { type Readable, readLoop } from '../src/protocol.js';

/** A socket that hands out `messages`, then waits until `close()`; it logs every receive. */
function fakeSocket(messages: Buffer[][], log: string[]) {
  let closeWait: (() => void) | undefined;
  const socket: { closed: boolean; receive: Readable['receive']; close(): void } = {
    closed: false,
    receive() {
      log.push('receive');
      const next = messages.shift();
      if (next !== undefined) return Promise.resolve(next);
      return new Promise<Buffer[]>((_, reject) => {
        closeWait = () => reject(new Error('closed'));
      });
    },
    close() {
      socket.closed = true;
      closeWait?.();
    },
  };
  return socket;
}

describe('readLoop', () => {
  it('lets a caller awaiting a reply send its next request before it receives again', async () => {
    const log: string[] = [];
    const socket = fakeSocket([[Buffer.from('reply 1')], [Buffer.from('reply 2')]], log);
    const replies: Array<(frames: Buffer[]) => void> = [];
    // A caller making one call after another, as `await client.call()` in a loop does.
    const caller = (async () => {
      for (let call = 1; call <= 2; call++) {
        const reply = await new Promise<Buffer[]>((resolve) => replies.push(resolve));
        log.push(`caller got ${reply[0]} and sends`);
      }
    })();
    const loop = readLoop(
      socket,
      (frames) => {
        log.push(`handle ${frames[0]}`);
        replies.shift()?.(frames);
      },
      () => {},
    );
    await caller;
    socket.close();
    await loop;
    expect(log).toEqual([
      'receive',
      'handle reply 1',
      'caller got reply 1 and sends',
      'receive',
      'handle reply 2',
      'caller got reply 2 and sends',
      'receive',
    ]);
  });

  it('reports a handler that throws and reads on; resolves once the socket is closed', async () => {
    const log: string[] = [];
    const socket = fakeSocket([[Buffer.from('bad')], [Buffer.from('good')]], log);
    const failures: string[] = [];
    const loop = readLoop(
      socket,
      (frames) => {
        if (String(frames[0]) === 'bad') throw new Error('a bug');
        log.push(`handle ${frames[0]}`);
      },
      (error, during) => failures.push(`${during}: ${(error as Error).message}`),
    );
    await new Promise((resolve) => setImmediate(resolve));
    socket.close();
    await loop;
    expect(failures).toEqual(['handle: a bug']);
    expect(log).toEqual(['receive', 'receive', 'handle good', 'receive']);
  });
});
