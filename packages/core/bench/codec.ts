/**
 * What zrpc's codec costs against plain @msgpack/msgpack: encode + decode of
 * the same events, warm-up first, then interleaved rounds; medians printed.
 * zrpc does more per event (exact 64-bit integers, UTF-8, length and depth
 * checks, event validation); the target is at least 0.8 of plain's speed.
 *
 * Run with `pnpm --filter @zrpc/core bench` (or `pnpm bench` at the root).
 */
import { Decoder, decode, Encoder, encode } from '@msgpack/msgpack';
import { decodeEvent, encodeEvent, MessageIdGenerator, type ZEvent } from '../src/index.js';

const TARGET = 0.8;
const ROUNDS = 15;
/** CPU time per measurement, and per codec for the warm-up. */
const MEASUREMENT_MS = 100;
const WARMUP_MS = 500;

const ids = new MessageIdGenerator();

const EVENTS: Record<string, ZEvent> = {
  'typical request: add(1, 2)': {
    header: { message_id: ids.next(), v: 3 },
    name: 'add',
    args: [1, 2],
  },
  'medium reply: strings, ints, a small map': {
    header: { message_id: ids.next(), v: 3, response_to: ids.next() },
    name: 'OK',
    args: [
      {
        id: 4_815_162_342,
        user: 'alice@example.com',
        status: 'active',
        roles: ['admin', 'billing'],
        quota: { used: 1234, limit: 10_000, unit: 'MB' },
        note: 'Renewed on the 3rd; invoice sent to the finance team.',
        created: 1_700_000_000,
      },
    ],
  },
};

/** One way of turning an event into bytes and back. */
interface Codec {
  name: string;
  roundTrip(event: ZEvent): unknown;
}

const reusedEncoder = new Encoder();
const reusedDecoder = new Decoder();

const ZRPC: Codec = { name: 'zrpc', roundTrip: (e) => decodeEvent(encodeEvent(e)) };
/** The baseline: the package's own functions, default options. */
const PLAIN: Codec = {
  name: 'plain',
  roundTrip: (e) => decode(encode([e.header, e.name, e.args])),
};
// `encode`/`decode` build a new Encoder/Decoder per call; zrpc keeps one of
// each. Instances kept the same way show what zrpc's checks cost alone.
const REUSED: Codec = {
  name: 'plain, reused instances',
  roundTrip: (e) => reusedDecoder.decode(reusedEncoder.encode([e.header, e.name, e.args])),
};
const CODECS = [ZRPC, PLAIN, REUSED];

// Results flow here so that the engine cannot drop the work.
let sink = 0;

/** This process's CPU time in ms, user and system. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Round trips per CPU-second. The machine is shared and noisy: CPU time
 * counts only the time this process actually ran, where wall time would
 * also count the time other processes took the cores.
 */
function opsPerSecond(codec: Codec, event: ZEvent, ms: number): number {
  let ops = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 500; i++) sink ^= (codec.roundTrip(event) as unknown[]).length;
    ops += 500;
    elapsed = cpuMs() - start;
  }
  return (ops / elapsed) * 1000;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const opsText = (n: number) => `${Math.round(n).toLocaleString('en-US').padStart(10)} ops/s`;

/** Median ops/s of each codec on one event, over interleaved rounds. */
function measure(event: ZEvent): Map<Codec, number> {
  for (const codec of CODECS) opsPerSecond(codec, event, WARMUP_MS);
  const samples = new Map(CODECS.map((c) => [c, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate who goes first, so that no codec always runs on a warmer or
    // quieter machine.
    const order = CODECS.map((_, i) => CODECS[(i + round) % CODECS.length]!);
    for (const codec of order) samples.get(codec)!.push(opsPerSecond(codec, event, MEASUREMENT_MS));
  }
  return new Map(CODECS.map((c) => [c, median(samples.get(c)!)]));
}

function main(): void {
  console.log(
    `@zrpc/core codec: encode + decode round trips per CPU-second, medians of ${ROUNDS} interleaved rounds (Node ${process.version})\n`,
  );
  let met = true;
  for (const [label, event] of Object.entries(EVENTS)) {
    const result = measure(event);
    const zrpc = result.get(ZRPC)!;
    console.log(label);
    for (const codec of CODECS) {
      const ratio =
        codec === ZRPC ? '' : `   zrpc/${codec.name}: ${(zrpc / result.get(codec)!).toFixed(2)}`;
      console.log(`  ${codec.name.padEnd(24)}${opsText(result.get(codec)!)}${ratio}`);
    }
    met &&= zrpc / result.get(PLAIN)! >= TARGET;
    console.log();
  }
  console.log(`target zrpc/plain >= ${TARGET}: ${met ? 'met' : 'NOT met'}`);
  if (sink === -1) console.log(sink); // never true; keeps the results alive
}

main();
