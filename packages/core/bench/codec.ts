/**
 * What zrpc's event codec costs per event against plain @msgpack/msgpack:
 * CPU time per encode and per decode of the same events, warm-up first, then
 * interleaved rounds; medians printed. zrpc does more per event (exact
 * 64-bit integers, UTF-8, length and depth checks, event validation); the
 * target is encode + decode at least 0.8 of plain's speed.
 *
 * "zrpc, generic path" is what encodeEvent and decodeEvent do for unusual
 * events (and did for every event before their fast paths):
 * `encodeValue([header, name, args])` and `decodeValue` + the event checks.
 *
 * Run with `pnpm --filter @zrpc/core bench` (or `pnpm bench` at the root).
 */
import { Decoder, decode, Encoder, encode } from '@msgpack/msgpack';
import { eventOf } from '../src/codec.js';
import {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  MessageIdGenerator,
  type ZEvent,
} from '../src/protocol.js';

const TARGET = 0.8;
const ROUNDS = 9;
/** CPU time per measurement, and per codec and operation for the warm-up. */
const MEASUREMENT_MS = 50;
const WARMUP_MS = 200;

const ids = new MessageIdGenerator();
const SMALL = 'a small payload..';

const EVENTS: Record<string, ZEvent> = {
  'request: echo(a small string)': {
    header: { message_id: ids.next(), v: 3 },
    name: 'echo',
    args: [SMALL],
  },
  'reply: OK [a small string]': {
    header: { message_id: ids.next(), v: 3, response_to: ids.next() },
    name: 'OK',
    args: [SMALL],
  },
  'request: add(1, 2)': {
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

/** One way of turning an event into bytes, and bytes into an event. */
interface Codec {
  name: string;
  encode(event: ZEvent): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

const reusedEncoder = new Encoder();
const reusedDecoder = new Decoder();
const asArray = (e: ZEvent) => [e.header, e.name, e.args];

const ZRPC: Codec = { name: 'zrpc', encode: encodeEvent, decode: decodeEvent };
const GENERIC: Codec = {
  name: 'zrpc, generic path',
  encode: (e) => encodeValue(asArray(e)),
  decode: (bytes) => eventOf(decodeValue(bytes)),
};
/** The baseline: the package's own functions, default options. */
const PLAIN: Codec = { name: 'plain', encode: (e) => encode(asArray(e)), decode };
// `encode`/`decode` build a new Encoder/Decoder per call; zrpc keeps one of
// each. Instances kept the same way show what zrpc's checks cost alone.
const REUSED: Codec = {
  name: 'plain, reused instances',
  encode: (e) => reusedEncoder.encode(asArray(e)),
  decode: (bytes) => reusedDecoder.decode(bytes),
};
const CODECS = [ZRPC, GENERIC, PLAIN, REUSED];

type Operation = 'encode' | 'decode';
const OPERATIONS: Operation[] = ['encode', 'decode'];

// Results flow here so that the engine cannot drop the work.
let sink = 0;

/** This process's CPU time in ms, user and system. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU nanoseconds per operation. The machine is shared and noisy: CPU time
 * counts only the time this process actually ran, where wall time would
 * also count the time other processes took the cores.
 */
function nsPerOperation(codec: Codec, operation: Operation, event: ZEvent, ms: number): number {
  // Every codec decodes the same bytes: a plain Uint8Array, as the client
  // hands its received payloads to decodeEvent.
  const bytes = new Uint8Array(encode(asArray(event)));
  const run =
    operation === 'encode' ? () => codec.encode(event).length : () => (codec.decode(bytes) ? 1 : 0);
  let ops = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 500; i++) sink ^= run();
    ops += 500;
    elapsed = cpuMs() - start;
  }
  return (elapsed * 1e6) / ops;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Median ns per operation of each codec on one event, over interleaved rounds. */
function measure(event: ZEvent, operation: Operation): Map<Codec, number> {
  for (const codec of CODECS) nsPerOperation(codec, operation, event, WARMUP_MS);
  const samples = new Map(CODECS.map((c) => [c, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate who goes first, so that no codec always runs on a warmer or
    // quieter machine.
    const order = CODECS.map((_, i) => CODECS[(i + round) % CODECS.length]!);
    for (const codec of order) {
      samples.get(codec)!.push(nsPerOperation(codec, operation, event, MEASUREMENT_MS));
    }
  }
  return new Map(CODECS.map((c) => [c, median(samples.get(c)!)]));
}

const µs = (ns: number) => `${(ns / 1000).toFixed(2).padStart(6)} µs`;

function main(): void {
  console.log(
    `@zrpc/core codec: CPU time per event, medians of ${ROUNDS} interleaved rounds (Node ${process.version})\n`,
  );
  console.log(
    `${''.padEnd(26)}${'encode'.padStart(9)}${'decode'.padStart(10)}   zrpc is x times faster`,
  );
  let met = true;
  for (const [label, event] of Object.entries(EVENTS)) {
    const [encoded, decoded] = OPERATIONS.map((operation) => measure(event, operation)) as [
      Map<Codec, number>,
      Map<Codec, number>,
    ];
    const total = (codec: Codec) => encoded.get(codec)! + decoded.get(codec)!;
    console.log(label);
    for (const codec of CODECS) {
      const speedup =
        codec === ZRPC
          ? ''
          : `   encode ${(encoded.get(codec)! / encoded.get(ZRPC)!).toFixed(2)}, decode ${(decoded.get(codec)! / decoded.get(ZRPC)!).toFixed(2)}`;
      console.log(
        `  ${codec.name.padEnd(24)}${µs(encoded.get(codec)!)} ${µs(decoded.get(codec)!)}${speedup}`,
      );
    }
    met &&= total(PLAIN) / total(ZRPC) >= TARGET;
    console.log();
  }
  console.log(
    `target: zrpc encode + decode at least ${TARGET} of plain's speed: ${met ? 'met' : 'NOT met'}`,
  );
  if (sink === -1) console.log(sink); // never true; keeps the results alive
}

main();
