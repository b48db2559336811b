// The runner's logger holds the call log's lines back and formats them many
// at once (runner/held-lines.ts): every line must still come out, in order,
// with the time of its call.
import { type CallEnd, Registry } from '@zrpc/core';
import { describe, expect, it } from 'vitest';
import { CallLog } from '../src/log.js';
import { HeldLines } from '../src/runner/held-lines.js';
import { loggerHoldingLines } from '../src/runner/logger.js';
import { until } from './helpers.js';

interface Line {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}

/** The runner's logger (JSON, `info`), its lines landing in `lines`. */
function runnersLogger() {
  const lines: Line[] = [];
  const logger = loggerHoldingLines('info', {
    write: (chunk: string) => lines.push(JSON.parse(chunk)),
  });
  return { logger, lines, callLog: new CallLog(logger, new Registry()) };
}

const ended = (method: string): CallEnd => ({
  side: 'server',
  method,
  peer: '00d2e1f0a7',
  status: 'ok',
  durationMs: 0.4,
  bytesIn: 10,
  bytesOut: 10,
  ran: true,
  stream: false,
  error: undefined,
});

describe("the runner's logger, holding call lines", () => {
  it('writes a held line before any later line, with the time it was held', async () => {
    const { logger, lines, callLog } = runnersLogger();
    callLog.ended(ended('first'));
    const heldAt = Date.now();
    expect(lines).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 3));
    logger.warn('a later line');
    expect(lines.map((line) => line.msg)).toEqual([
      'first ok in 0.4 ms (peer 00d2e1f0a7)',
      'a later line',
    ]);
    expect(lines[0]).toMatchObject({ level: 30, method: 'first', status: 'ok', pid: process.pid });
    expect(lines[0]!.time).toBeLessThanOrEqual(heldAt);
    expect(lines[1]!.time).toBeGreaterThan(lines[0]!.time);
  });

  it('writes held lines by itself soon after, in order', async () => {
    const { lines, callLog } = runnersLogger();
    for (const method of ['a', 'b', 'c']) callLog.ended(ended(method));
    await until(() => lines.length === 3, 1000);
    expect(lines.map((line) => line.method)).toEqual(['a', 'b', 'c']);
  });

  it('holds 256 lines at most', () => {
    const { lines, callLog } = runnersLogger();
    for (let i = 0; i < 255; i++) callLog.ended(ended(`m${i}`));
    expect(lines).toHaveLength(0);
    callLog.ended(ended('m255'));
    expect(lines.map((line) => line.method)).toEqual(
      Array.from({ length: 256 }, (_, i) => `m${i}`),
    );
  });

  it("lets a child's line release the held ones first; a child's call log does not hold", () => {
    const { logger, lines, callLog } = runnersLogger();
    callLog.ended(ended('parent'));
    const child = logger.child({ app: 'tickets' });
    new CallLog(child, new Registry()).ended(ended('child'));
    expect(lines.map((line) => [line.method, line.app])).toEqual([
      ['parent', undefined],
      ['child', 'tickets'],
    ]);
  });

  it('reports a line that cannot be written, and writes the others', () => {
    const errors: unknown[] = [];
    const written: string[] = [];
    const held = new HeldLines((error) => errors.push(error));
    held.hold((text: string) => written.push(text), 'one');
    held.hold(() => {
      throw new Error('boom');
    }, undefined);
    held.hold((text: string) => written.push(text), 'three');
    held.release();
    expect(written).toEqual(['one', 'three']);
    expect(errors).toMatchObject([{ message: 'boom' }]);
    expect(held.time).toBeUndefined();
  });
});
