import { performance } from 'node:perf_hooks';
import { expect, test } from 'vitest';
import { pumpStream, type StreamOutlet } from '../src/stream-pump.js';

/** An outlet with credit always in hand; each send costs `sendUs` of CPU, like encoding. */
function outlet(sendUs: number): StreamOutlet & { sent: number } {
  return {
    method: 'many',
    aborted: false,
    sent: 0,
    throwIfAborted() {},
    canWrite: () => true,
    whenWritable: async () => {},
    userCode: (promise) => Promise.resolve(promise),
    send() {
      const until = performance.now() + sendUs / 1000;
      while (performance.now() < until) {}
      this.sent++;
    },
  };
}

test('with credit in hand a stream sends item after item, yet lets the event loop turn', async () => {
  const out = outlet(20);
  const turns: number[] = [];
  // A timer due at once stands for another call's heartbeat.
  const beat = setInterval(() => turns.push(out.sent), 0);
  await pumpStream(
    out,
    Array.from({ length: 5000 }, (_, i) => i),
  );
  clearInterval(beat);
  expect(out.sent).toBe(5000);
  // The timers ran while the stream was still sending (not only after it)...
  expect(turns.filter((sent) => sent < 5000).length).toBeGreaterThan(2);
  // ...and between two turns many items went out, with no wait per item.
  expect(turns[0]!).toBeGreaterThan(50);
});
