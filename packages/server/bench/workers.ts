/**
 * Handlers that compute, on the event loop versus on the worker pool,
 * measured side by side in one run. A server (child process, compiled
 * dist/, pool of the machine's cores) serves a ~20 ms CPU-bound method
 * registered twice: on the loop and with `{ worker: true }`. For each, 8
 * callers keep 8 calls in flight for a few seconds while a prober calls a
 * cheap method every 10 ms: calls per second of the CPU-bound method, and
 * the latency of the cheap one alongside. The two alternate for a few
 * rounds and each figure is the median of its rounds, so that a burst of
 * load from elsewhere on the machine does not decide the ratio.
 *
 *   pnpm --filter @zrpc/server build && pnpm --filter @zrpc/server bench
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeEvent, encodeEvent, MessageIdGenerator, messageIdKey } from '@zrpc/core/protocol';
import { Dealer } from 'zeromq';

const WORK_MS = 20;
const IN_FLIGHT = 8;
const PHASE_MS = 3000;
const WARMUP_MS = 500;
const ROUNDS = 3;
const PROBE_EVERY_MS = 10;

if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
  console.error('bench/workers.ts measures the compiled server: build it first (pnpm build).');
  process.exit(1);
}

/** One DEALER, many calls in flight, replies matched by id. */
class Caller {
  private readonly socket = new Dealer({ linger: 0 });
  private readonly ids = new MessageIdGenerator();
  private readonly waiting = new Map<string, (name: string) => void>();
  private readonly reading: Promise<void>;

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    this.reading = this.read();
  }

  async call(name: string, args: unknown[]): Promise<void> {
    const id = this.ids.next();
    const replied = new Promise<string>((resolve) => this.waiting.set(messageIdKey(id)!, resolve));
    await this.socket.send([
      Buffer.alloc(0),
      encodeEvent({ header: { message_id: id, v: 3 }, name, args }),
    ]);
    const reply = await replied;
    if (reply !== 'OK') throw new Error(`${name} answered ${reply}`);
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.reading;
  }

  private async read(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        return;
      }
      const event = decodeEvent(frames[frames.length - 1]!);
      if (event.name === '_zpc_hb') continue;
      const key = messageIdKey(event.header.response_to)!;
      this.waiting.get(key)?.(event.name);
      this.waiting.delete(key);
    }
  }
}

interface Row {
  where: string;
  callsPerSecond: number;
  cheapP50: number;
  cheapP99: number;
  cheapMax: number;
  /** How many of the server's timer firings due during the phase happened (heartbeats are timers). */
  timersFired: number;
}

/** Keep IN_FLIGHT calls of `method` going for PHASE_MS while probing `cheap`. */
async function phase(caller: Caller, method: string): Promise<Row> {
  const burnUntil = (end: number, count: { n: number }) =>
    (async () => {
      while (performance.now() < end) {
        await caller.call(method, [WORK_MS]);
        count.n++;
      }
    })();
  // Warm up (the pool starts its threads on the first worker call).
  const warm = { n: 0 };
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, () => burnUntil(performance.now() + WARMUP_MS, warm)),
  );
  await serverTimers(); // from here on

  const started = performance.now();
  const end = started + PHASE_MS;
  const done = { n: 0 };
  const burners = Array.from({ length: IN_FLIGHT }, () => burnUntil(end, done));
  const latencies: number[] = [];
  let i = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    await caller.call('cheap', [i++]);
    const took = performance.now() - t0;
    latencies.push(took);
    if (took < PROBE_EVERY_MS) await new Promise((r) => setTimeout(r, PROBE_EVERY_MS - took));
  }
  await Promise.all(burners);
  const elapsed = (performance.now() - started) / 1000;
  const timers = await serverTimers();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    where: method === 'burnOnLoop' ? 'event loop' : 'worker pool',
    callsPerSecond: done.n / elapsed,
    cheapP50: at(0.5),
    cheapP99: at(0.99),
    cheapMax: latencies[latencies.length - 1]!,
    timersFired: timers.fired / timers.expected,
  };
}

/** How often the server's 10 ms timer fired since the last ask, and how often it was due. */
async function serverTimers(): Promise<{ fired: number; expected: number }> {
  child.send('phase');
  const [timers] = (await once(child, 'message')) as [{ fired: number; expected: number }];
  return timers;
}

/** Each figure of the rows, the median over the rounds. */
function median(rows: Row[]): Row {
  const mid = (pick: (row: Row) => number) =>
    rows.map(pick).sort((a, b) => a - b)[rows.length >> 1]!;
  return {
    where: rows[0]!.where,
    callsPerSecond: mid((r) => r.callsPerSecond),
    cheapP50: mid((r) => r.cheapP50),
    cheapP99: mid((r) => r.cheapP99),
    cheapMax: mid((r) => r.cheapMax),
    timersFired: mid((r) => r.timersFired),
  };
}

const child: ChildProcess = fork(fileURLToPath(new URL('./cpu-server.mjs', import.meta.url)), [], {
  execArgv: [],
});
const [ready] = (await once(child, 'message')) as [{ endpoint: string }];
const caller = new Caller(ready.endpoint);
const rounds: Array<{ loop: Row; pool: Row }> = [];
for (let round = 0; round < ROUNDS; round++) {
  rounds.push({
    loop: await phase(caller, 'burnOnLoop'),
    pool: await phase(caller, 'burnOnWorker'),
  });
}
const loop = median(rounds.map((r) => r.loop));
const pool = median(rounds.map((r) => r.pool));
child.send('close');
const [{ stats }] = (await once(child, 'message')) as [
  { stats: { workers: unknown; loopDelayMs: unknown } },
];
await caller.close();
await once(child, 'exit');

const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(
  `A ${WORK_MS} ms CPU-bound method, ${IN_FLIGHT} calls in flight; a cheap method every ${PROBE_EVERY_MS} ms alongside. ` +
    `Median of ${ROUNDS} rounds of ${PHASE_MS / 1000} s each. ${availableParallelism()} cores, pool of ${availableParallelism()}.`,
);
console.log('');
console.log(
  '| where the method runs | calls/s | cheap call p50 | cheap call p99 | cheap call max | server timers fired |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of [loop, pool]) {
  console.log(
    `| ${row.where} | ${row.callsPerSecond.toFixed(1)} | ${ms(row.cheapP50)} | ${ms(row.cheapP99)} | ${ms(row.cheapMax)} | ${(row.timersFired * 100).toFixed(0)}% |`,
  );
}
console.log('');
console.log(
  `throughput, worker pool / event loop: ${(pool.callsPerSecond / loop.callsPerSecond).toFixed(2)}x`,
);
console.log(
  `cheap call p99, event loop / worker pool: ${(loop.cheapP99 / pool.cheapP99).toFixed(1)}x`,
);
console.log(
  `server stats at the end: workers ${JSON.stringify(stats.workers)}, loop delay since start ${JSON.stringify(stats.loopDelayMs)}`,
);
