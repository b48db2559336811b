// The ROUTER's send high-water mark follows the size of what is sent: full
// while messages are small, lowered before a large one, back up once large
// ones have stopped. (What ZeroMQ then holds for a peer that does not read
// is in send-budget.test.ts.)
import { FakeClock } from '@zrpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from 'zeromq';
import { PIPE_BYTES, PipeLimit, RAISE_AFTER_MS } from '../src/pipe-limit.js';

const MiB = 1024 * 1024;
const sockets: Router[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

function limited(max = 1000) {
  const socket = new Router({ sendHighWaterMark: max });
  sockets.push(socket);
  const clock = new FakeClock();
  return { socket, clock, limit: new PipeLimit(socket, max, clock) };
}

describe('PipeLimit', () => {
  it('leaves the limit alone for messages under PIPE_BYTES / max', () => {
    const { socket, clock, limit } = limited();
    limit.before(PIPE_BYTES / 1000 - 1);
    limit.before(200);
    expect(socket.sendHighWaterMark).toBe(1000);
    expect(clock.pending).toHaveLength(0);
  });

  it('lowers it before a large message, to what fits PIPE_BYTES, and never below 1', () => {
    const { socket, limit } = limited();
    limit.before(MiB);
    expect(socket.sendHighWaterMark).toBe(PIPE_BYTES / MiB);
    // A smaller large message keeps the lower limit; a larger one lowers it further.
    limit.before(MiB / 2);
    expect(socket.sendHighWaterMark).toBe(PIPE_BYTES / MiB);
    limit.before(PIPE_BYTES * 2);
    expect(socket.sendHighWaterMark).toBe(1);
  });

  it('raises it back once no large message has gone out for RAISE_AFTER_MS', () => {
    const { socket, clock, limit } = limited();
    limit.before(MiB);
    clock.advance(RAISE_AFTER_MS - 10);
    limit.before(MiB); // still going: the wait starts again
    clock.advance(RAISE_AFTER_MS - 10);
    expect(socket.sendHighWaterMark).toBe(PIPE_BYTES / MiB);
    clock.advance(10);
    expect(socket.sendHighWaterMark).toBe(1000);
    expect(limit.limit).toBe(1000);
    // Its timer holds no process open.
    expect(clock.pending.filter((timer) => timer.refed)).toEqual([]);
  });

  it('stops its timer on close', () => {
    const { socket, clock, limit } = limited();
    limit.before(MiB);
    limit.close();
    clock.advance(10 * RAISE_AFTER_MS);
    expect(socket.sendHighWaterMark).toBe(PIPE_BYTES / MiB);
  });
});
