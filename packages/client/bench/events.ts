/**
 * Events: how fast a zrpc Pusher -> Puller pair runs events against the
 * floor (a bare zeromq.js PUSH -> PULL with stock msgpack), in one run, and
 * what a Puller holds in memory under a flood. Pullers run in child
 * processes; the pushers here. `pnpm bench` runs it after the calls bench;
 * alone: `node --import tsx bench/events.ts`.
 */
import { performance } from 'node:perf_hooks';
import { Push } from 'zeromq';
import { Pusher } from '../src/index.js';
import { type ServerChild, startServer, stopServers } from './children.js';
import { encodeFloorEvent } from './floor-wire.js';

const EVENTS = 100_000;
const WARM_UP = 20_000;
const ROUNDS = 7;
/** The flood: pushers, event size, how long, how long each event takes on the puller. */
const FLOOD_PUSHERS = 4;
const FLOOD_EVENT_BYTES = 64 * 1024;
const FLOOD_MS = 8000;
const FLOOD_WORK_MS = 20;
/** The Puller's defaults (see @zrpc/server's README, "Events"). */
const BYTE_BUDGET = 32 * 1024 * 1024;
const CONCURRENCY = 100;
const RECEIVE_HWM = 100;
/** The flood's target for the puller's peak RSS. */
const RSS_TARGET = 200 * 1024 * 1024;

/** Send `message` to the child and wait for its answer carrying `key`. */
async function ask<T>(server: ServerChild, message: object, key: string): Promise<T> {
  const answer = new Promise<T>((resolve) => {
    const listener = (reply: Record<string, unknown>) => {
      if (!(key in reply)) return;
      server.child.off('message', listener);
      resolve(reply[key] as T);
    };
    server.child.on('message', listener);
  });
  server.child.send(message);
  return answer;
}

type Send = (i: number) => Promise<unknown>;

/** Events per second: `n` events sent one after the other, until the child ran them all. */
async function rate(server: ServerChild, send: Send, n: number): Promise<number> {
  await ask(server, { expect: n }, 'expecting');
  const ran = new Promise((resolve) => {
    const listener = (reply: { ran?: number }) => {
      if (reply.ran === undefined) return;
      server.child.off('message', listener);
      resolve(reply.ran);
    };
    server.child.on('message', listener);
  });
  const started = performance.now();
  for (let i = 0; i < n; i++) await send(i);
  await ran;
  return n / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function throughput(): Promise<void> {
  const [zrpc, floor] = await Promise.all([
    startServer('events-zrpc'),
    startServer('events-floor'),
  ]);
  const pusher = new Pusher({ endpoints: zrpc.endpoint });
  const push = new Push({ linger: 0 });
  push.connect(floor.endpoint);
  let id = 0;
  const stacks: Array<[string, ServerChild, Send]> = [
    ['zrpc', zrpc, (i) => pusher.push('tick', i)],
    [
      'floor',
      floor,
      (i) => push.send(encodeFloorEvent([{ message_id: `${id++}`, v: 3 }, 'tick', [i]])),
    ],
  ];
  for (const [, server, send] of stacks) await rate(server, send, WARM_UP);
  const rates: Record<string, number[]> = { zrpc: [], floor: [] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...stacks].reverse() : stacks;
    const measured: Record<string, number> = {};
    for (const [name, server, send] of order) measured[name] = await rate(server, send, EVENTS);
    rates.zrpc!.push(measured.zrpc!);
    rates.floor!.push(measured.floor!);
    ratios.push(measured.zrpc! / measured.floor!);
  }
  await pusher.close();
  push.close();
  console.log(
    `\nevents pushed, ${EVENTS} per round, ${ROUNDS} rounds (medians; higher is better)\n`,
  );
  console.log(
    '| load | zrpc Pusher -> Puller | bare zeromq.js PUSH -> PULL floor | zrpc/floor (rounds) |',
  );
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| events/s, one pusher, each push awaited | ${Math.round(median(rates.zrpc!))} | ${Math.round(median(rates.floor!))} | ${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}; target 0.8) |`,
  );
}

async function flood(): Promise<void> {
  const puller = await startServer('events-zrpc', [], { EVENTS_WORK_MS: String(FLOOD_WORK_MS) });
  const rss = () => ask<number>(puller, { rss: true }, 'rss');
  const pushers = Array.from(
    { length: FLOOD_PUSHERS },
    () => new Pusher({ endpoints: puller.endpoint, sendTimeoutMs: 60_000 }),
  );
  const pad = new Uint8Array(FLOOD_EVENT_BYTES);
  await Promise.all(pushers.map((p) => p.push('tick', 0, pad)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = await rss();
  // The peak RSS in each half of the flood: a bounded puller stops growing.
  const peaks = [idle, idle];
  let pushed = 0;
  let stop = false;
  const started = performance.now();
  const sampling = (async () => {
    while (!stop) {
      const half = performance.now() - started < FLOOD_MS / 2 ? 0 : 1;
      peaks[half] = Math.max(peaks[half]!, await rss());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const flooding = pushers.map(async (p) => {
    while (!stop) {
      await p.push('tick', pushed, pad);
      pushed++;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, FLOOD_MS));
  stop = true;
  await Promise.all([sampling, ...flooding]);
  await Promise.all(pushers.map((p) => p.close({ graceMs: 0 })));
  // What the puller may hold live: the events running (concurrency or byteBudget, whichever
  // binds first) and what ZeroMQ holds in each pusher's receive pipe.
  const running = Math.min(CONCURRENCY * FLOOD_EVENT_BYTES, BYTE_BUDGET);
  const pipes = FLOOD_PUSHERS * RECEIVE_HWM * FLOOD_EVENT_BYTES;
  const peak = Math.max(...peaks);
  console.log(
    `\nflood: ${FLOOD_PUSHERS} pushers, ${FLOOD_EVENT_BYTES / 1024} KiB events, ${FLOOD_MS / 1000} s, ` +
      `each event ${FLOOD_WORK_MS} ms on the puller (defaults: concurrency ${CONCURRENCY}, receiveHighWaterMark ${RECEIVE_HWM})`,
  );
  console.log(
    `  ${pushed} events pushed; puller RSS ${mb(idle)} MB idle, peak ${mb(peaks[0]!)} MB in the first half, ` +
      `${mb(peaks[1]!)} MB in the second (target < ${mb(RSS_TARGET)} MB: ${peak < RSS_TARGET ? 'met' : 'NOT MET'}); ` +
      `held live at most ${mb(running)} MB running + ${mb(pipes)} MB in ZeroMQ's receive pipes, ` +
      'the rest is garbage not yet collected',
  );
}

try {
  await throughput();
  await flood();
} finally {
  await stopServers();
}
