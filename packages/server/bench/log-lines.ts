/**
 * What a call's log line costs the server at the runner's default verbosity:
 * the call log's line for an `ok` call through pino, 64 lines per turn of
 * the event loop (64 calls in flight) and 1 (one call at a time), to a
 * file, in CPU µs per line (all threads), for each way of writing the JSON
 * lines:
 *
 * - `per line`: a synchronous write per line (pino.destination sync);
 * - `async`: pino's asynchronous destination (sonic-boom, sync: false);
 * - `batched`: `BatchedDestination`, one synchronous write per 16 KiB or
 *   10 ms;
 * - `held+batched`: the runner's logger: the same, the call log's lines
 *   held back and formatted many at once (`HeldLines`);
 * - `off`: the line is not logged (verbosity 0), for reference.
 *
 *   node --import tsx bench/log-lines.ts
 */
import { openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CallEnd, Registry } from '@zrpc/core';
import { pino } from 'pino';
import { CallLog } from '../src/log.js';
import { BatchedDestination } from '../src/runner/log-destination.js';
import { loggerHoldingLines } from '../src/runner/logger.js';

const PER_TURN = [64, 1];
const LINES = 100_000;
const ROUNDS = 7;
const file = join(tmpdir(), `zrpc-log-lines-${process.pid}.log`);
const fd = openSync(file, 'w');

const logs = {
  'per line': () =>
    pino({ base: { pid: process.pid } }, pino.destination({ dest: fd, sync: true })),
  async: () => pino({ base: { pid: process.pid } }, pino.destination({ dest: fd, sync: false })),
  batched: () => pino({ base: { pid: process.pid } }, new BatchedDestination(fd)),
  'held+batched': () => loggerHoldingLines('info', new BatchedDestination(fd)),
  off: () => pino({ level: 'error' }, pino.destination({ dest: fd, sync: true })),
};

const end: CallEnd = {
  side: 'server',
  method: 'echo',
  peer: '006b8b4567',
  status: 'ok',
  durationMs: 0.03,
  bytesIn: 80,
  bytesOut: 90,
  ran: true,
  stream: false,
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function usPerLine(log: CallLog, lines: number, perTurn: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < lines; i += perTurn) {
    for (let k = 0; k < perTurn; k++) log.ended({ ...end, durationMs: k / 100 });
    await turn();
  }
  const { user, system } = process.cpuUsage(before);
  return (user + system) / lines;
}

const callLogs = Object.entries(logs).map(
  ([name, make]) => [name, new CallLog(make(), new Registry())] as const,
);
for (const perTurn of PER_TURN) {
  const samples = new Map<string, number[]>(Object.keys(logs).map((name) => [name, []]));
  const lines = perTurn === 1 ? LINES / 5 : LINES;
  for (const [, log] of callLogs) await usPerLine(log, lines / 2, perTurn); // warm-up
  // Round-robin, so that whatever else the machine does weighs on each alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, log] of callLogs) {
      samples.get(name)!.push(await usPerLine(log, lines, perTurn));
    }
  }
  await turn();
  console.log(`CPU µs per log line, ${perTurn} line(s) per turn, median of ${ROUNDS} rounds (min)`);
  for (const [name, values] of samples) {
    values.sort((a, b) => a - b);
    const median = values[values.length >> 1]!;
    console.log(`${name.padEnd(10)} ${median.toFixed(2)} (${values[0]!.toFixed(2)})`);
  }
}
rmSync(file);
process.exit(0);
