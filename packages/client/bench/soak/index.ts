/**
 * Soak: each attack we know of (unfair peers, non-readers, floods, kills) against a @zrpc/server
 * with default options in a child process, while a well-behaved zrpc Client
 * calls `quick()` at a steady rate. Prints, per attack, the good client's
 * calls answered (and as a share of its unloaded rate), its p99 latency, the
 * server's peak RSS and its RSS after the attacker left, and what its send
 * budget saw (peak bytes waiting, replies refused, bytes waiting after the
 * attacker left); then 20
 * kill-and-drain runs (SIGTERM with calls in flight).
 *
 *   pnpm soak          (from the repository root: builds, then runs this)
 *
 * Targets: >= 90% of the unloaded rate under every attack, server RSS under
 * 300 MB, no reply lost in 20 kill-and-drain runs. Bounded: about two minutes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { channelHeader, decodeEvent, encodeEvent, MessageIdGenerator } from '@zrpc/core/protocol';
import type { ServerStats } from '@zrpc/server';
import { Dealer } from 'zeromq';
import { Client } from '../../src/index.js';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const LEAVER = fileURLToPath(new URL('./leaver.ts', import.meta.url));
const WINDOW_MS = 6000;
const GOOD_EVERY_MS = 20;
const MB = 1024 * 1024;

interface Attack {
  name: string;
  /**
   * Start attacking; resolves with the function that makes the attacker
   * leave (which may answer a note for the report).
   */
  start(endpoint: string): Promise<() => Promise<unknown>>;
}

const ids = new MessageIdGenerator();
const EMPTY = Buffer.alloc(0);
const request = (name: string, args: unknown, id = ids.next()) =>
  Buffer.from(encodeEvent({ header: { message_id: id, v: 3 }, name, args }));
/**
 * A request as a zrpc client sends it (`zrpc_hb`): the server sends such a
 * client several events a message (docs/EXTENSIONS.md), the larger share of
 * ZeroMQ's pipe for a client that never reads.
 */
const zrpcRequest = (name: string, args: unknown, id = ids.next()) =>
  Buffer.from(encodeEvent({ header: { message_id: id, v: 3, zrpc_hb: 5000 }, name, args }));

function dealer(endpoint: string, options: ConstructorParameters<typeof Dealer>[0] = {}): Dealer {
  const socket = new Dealer({ linger: 0, sendHighWaterMark: 0, ...options });
  socket.connect(endpoint);
  return socket;
}

/** Read and drop everything a socket receives, until it closes. */
function drain(socket: Dealer, onEvent?: (frames: Buffer[]) => void): void {
  void (async () => {
    for await (const frames of socket) onEvent?.(frames);
  })().catch(() => {});
}

const leave = (socket: Dealer) => async () => socket.close();

const attacks: Attack[] = [
  { name: 'none (unloaded)', start: async () => async () => {} },
  {
    name: '100k calls to a 20 s method from one socket',
    async start(endpoint) {
      const socket = dealer(endpoint);
      drain(socket);
      for (let i = 0; i < 100_000; i++) await socket.send([EMPTY, request('slow', [20_000])]);
      return leave(socket);
    },
  },
  {
    name: '1000 streams held without credit (heartbeats sent)',
    async start(endpoint) {
      const socket = dealer(endpoint);
      const channels: Uint8Array[] = [];
      for (let i = 0; i < 1000; i++) {
        const id = ids.next();
        channels.push(id);
        await socket.send([EMPTY, request('forever', [], id)]);
      }
      drain(socket);
      let beating = false;
      const beat = setInterval(async () => {
        if (beating) return;
        beating = true;
        for (const id of channels) {
          const header = channelHeader(ids.next(), id);
          const event = encodeEvent({ header, name: '_zpc_hb', args: [0] });
          await socket.send([EMPTY, Buffer.from(event)]).catch(() => {});
        }
        beating = false;
      }, 2000);
      return async () => {
        clearInterval(beat);
        socket.close();
      };
    },
  },
  {
    name: 'a client leaving streams early (break), over and over',
    async start(endpoint) {
      const leaver = fork(LEAVER, [endpoint], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      await message(leaver);
      return async () => {
        leaver.kill('SIGKILL');
        await once(leaver, 'exit');
      };
    },
  },
  {
    name: 'a random routing frame per message (11k calls to a 20 s method)',
    async start(endpoint) {
      const socket = dealer(endpoint);
      drain(socket);
      for (let i = 0; i < 11_000; i++) {
        const disguise = Buffer.from(`peer-${i}-${Math.random()}`);
        await socket.send([disguise, EMPTY, request('slow', [20_000])]);
      }
      return leave(socket);
    },
  },
  {
    name: 'one 256 MB request to an unknown method',
    async start(endpoint) {
      const socket = dealer(endpoint);
      drain(socket);
      await socket.send([EMPTY, request('nope', [Buffer.alloc(256 * MB)])]);
      return leave(socket);
    },
  },
  {
    name: 'a zrpc reader that grants a billion and never reads',
    async start(endpoint) {
      const socket = dealer(endpoint, { receiveHighWaterMark: 10 });
      const id = ids.next();
      await socket.send([EMPTY, zrpcRequest('forever', [], id)]);
      const header = channelHeader(ids.next(), id);
      await socket.send([
        EMPTY,
        Buffer.from(encodeEvent({ header, name: '_zpc_more', args: [1e9] })),
      ]);
      return leave(socket);
    },
  },
  {
    name: '5.5 MB of small zrpc requests whose replies are never read',
    async start(endpoint) {
      const socket = dealer(endpoint, { receiveHighWaterMark: 10 });
      const payload = zrpcRequest('echo', ['x'.repeat(16)]);
      const count = Math.ceil((5.5 * MB) / payload.length);
      for (let i = 0; i < count; i++) {
        await socket.send([EMPTY, zrpcRequest('echo', ['x'.repeat(16)])]);
      }
      return leave(socket);
    },
  },
  {
    name: '400 calls for 1 MiB replies, never read',
    async start(endpoint) {
      // No setting of its own beyond a small ZeroMQ inbox: the kernel's
      // buffers grow as Linux lets them (tcp_rmem), as a careless client's would.
      const socket = dealer(endpoint, { receiveHighWaterMark: 1 });
      for (let i = 0; i < 400; i++) await socket.send([EMPTY, request('megabyte', [])]);
      return async () => {
        // Reads at last, for a second: the calls refused come back as small ERRs.
        let ok = 0;
        let refused = 0;
        socket.receiveTimeout = 1000;
        try {
          for (;;) {
            const frames = await socket.receive();
            const event = decodeEvent(frames.at(-1)!);
            if (event.name === 'OK') ok++;
            else if ((event.args as string[])[0] === 'SendBudgetError') refused++;
          }
        } catch {}
        socket.close();
        return `once it read: ${ok} replies, ${refused} SendBudgetError ERRs`;
      };
    },
  },
];

interface Row {
  attack: string;
  sent: number;
  answered: number;
  p99: number;
  peakMb: number;
  afterMb: number;
  /** The server's peak of bytes waiting to be sent (ZeroMQ not taking them), in MB. */
  waitingPeakMb: number;
  /** Replies the server refused for the send budget. */
  refusals: number;
  /** Bytes still waiting after the attacker left, in MB. */
  waitingAfterMb: number;
  note: unknown;
}

await main();

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const attack of attacks) {
    const child = fork(SERVER, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const { endpoint } = (await message(child)) as { endpoint: string };
    try {
      rows.push(await run(attack, child, endpoint));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    printRow(rows.at(-1)!, rows[0]!);
  }
  for (const row of rows)
    if (typeof row.note === 'string') console.log(`\n${row.attack}: ${row.note}`);
  const drains = await killAndDrain(20);
  console.log(
    `\nkill and drain: ${drains.runs} runs, ${drains.calls} calls in flight at SIGTERM, ${drains.lost} lost`,
  );
  for (const [why, n] of drains.reasons) console.log(`  ${n} × ${why}`);
  const base = rows[0]!;
  const worst = Math.min(...rows.map((r) => r.answered / base.answered));
  const peak = Math.max(...rows.map((r) => r.peakMb));
  console.log(
    `\nworst good-client share ${(100 * worst).toFixed(0)}% (target >= 90%), ` +
      `peak server RSS ${peak.toFixed(0)} MB (target < 300), lost on drain ${drains.lost} (target 0)`,
  );
  process.exit(0);
}

async function run(attack: Attack, child: ChildProcess, endpoint: string): Promise<Row> {
  child.send('mark');
  await message(child);
  const stop = await attack.start(endpoint);
  const good = await goodClient(endpoint, WINDOW_MS);
  child.send('mark');
  const { peak, stats } = (await message(child)) as { peak: number; stats: ServerStats };
  const note = await stop();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  child.send('settled');
  const { rss, stats: after } = (await message(child)) as { rss: number; stats: ServerStats };
  return {
    attack: attack.name,
    ...good,
    peakMb: peak / MB,
    afterMb: rss / MB,
    waitingPeakMb: stats.peakBytesWaiting / MB,
    refusals: stats.sendBudgetRefusals,
    waitingAfterMb: after.bytesWaiting / MB,
    note,
  };
}

/** A well-behaved zrpc client: one `quick()` call every GOOD_EVERY_MS for `ms`. */
async function goodClient(endpoint: string, ms: number) {
  const client = new Client<{ quick(): Promise<number> }>({
    endpoints: endpoint,
    timeoutMs: 10_000,
  });
  const latencies: number[] = [];
  const calls: Promise<unknown>[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const started = performance.now();
    calls.push(
      client.quick().then(
        () => latencies.push(performance.now() - started),
        () => {},
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, GOOD_EVERY_MS));
  }
  await Promise.all(calls);
  await client.close();
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN;
  return { sent: calls.length, answered: latencies.length, p99 };
}

async function killAndDrain(runs: number) {
  let lost = 0;
  let calls = 0;
  /** Why calls were lost, counted. */
  const reasons = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const child = fork(SERVER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const { endpoint } = (await message(child)) as { endpoint: string };
    const client = new Client<{ slow(ms: number): Promise<number> }>({
      endpoints: endpoint,
      timeoutMs: 4000,
    });
    const inFlight = Array.from({ length: 40 }, (_, n) => client.slow(20 + ((n * 37) % 180)));
    // SIGTERM once the server has every call (a request it reads only after
    // SIGTERM is refused unrun, ServerDrainingError: not a lost reply).
    for (;;) {
      child.send('mark');
      const { stats } = (await message(child)) as { stats: ServerStats };
      if (stats.calls >= inFlight.length) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill('SIGTERM');
    const outcomes = await Promise.allSettled(inFlight);
    calls += outcomes.length;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      lost++;
      const why = String((outcome.reason as Error)?.message).slice(0, 60);
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
    await client.close();
    if (child.exitCode === null) await once(child, 'exit');
  }
  return { runs, calls, lost, reasons };
}

function message(child: ChildProcess): Promise<unknown> {
  return once(child, 'message').then(([value]) => value);
}

function printRow(row: Row, base: Row): void {
  if (row === base) {
    console.log(
      '| attack | good calls answered | share of unloaded | good p99 ms | server peak RSS MB | RSS after MB | peak bytes waiting MB | budget refusals | waiting after MB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
  }
  const share = (100 * row.answered) / base.answered;
  console.log(
    `| ${row.attack} | ${row.answered}/${row.sent} | ${share.toFixed(0)}% | ${row.p99.toFixed(1)} | ` +
      `${row.peakMb.toFixed(0)} | ${row.afterMb.toFixed(0)} | ${row.waitingPeakMb.toFixed(1)} | ` +
      `${row.refusals} | ${row.waitingAfterMb.toFixed(1)} |`,
  );
}
