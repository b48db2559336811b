import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Stack, StackName } from './stacks/stack.js';

/** zrpc's speed against another stack, as the brief asks for it. */
export interface Target {
  against: Exclude<StackName, 'zrpc'>;
  /** The least acceptable zrpc/other ratio. */
  atLeast: number;
}

/** What one run of a load did: its rate (per second) and how many operations (calls, items) it made. */
export interface Measured {
  rate: number;
  operations: number;
}

/** One way of loading a stack; `run` answers its rate and operation count. */
export interface Load {
  key: string;
  title: string;
  unit: string;
  /** The measured run's size (ms or calls or items, see `run`) and the warm-up's. */
  size: number;
  warmUpSize: number;
  targets: Target[];
  run(stack: Stack, size: number): Promise<Measured>;
}

const SMALL = 'a small payload..';
const MEGABYTE = new Uint8Array(randomBytes(1 << 20));

/**
 * `inFlight` callers, each making one call after another, until `calls`
 * have started or `ms` have passed; answers completed calls per second.
 * Every reply is checked, so a stack that answers wrongly fails the bench.
 */
export async function roundTrips(
  call: (value: unknown) => Promise<unknown>,
  payload: string | number | Uint8Array,
  inFlight: number,
  limit: { calls?: number; ms?: number },
): Promise<Measured> {
  const { calls = Number.POSITIVE_INFINITY, ms = Number.POSITIVE_INFINITY } = limit;
  const start = performance.now();
  const stop = start + ms;
  let started = 0;
  const caller = async () => {
    while (started < calls && performance.now() < stop) {
      started++;
      const reply = await call(payload);
      if (!sameValue(reply, payload)) throw new Error('the server answered a different value');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  return { rate: started / ((performance.now() - start) / 1000), operations: started };
}

function sameValue(reply: unknown, sent: string | number | Uint8Array): boolean {
  if (!(sent instanceof Uint8Array)) return reply === sent;
  return reply instanceof Uint8Array && Buffer.from(sent).equals(reply);
}

async function streamItems(stack: Stack, items: number): Promise<Measured> {
  const start = performance.now();
  const received = await stack.count(items);
  if (received !== items) throw new Error(`the stream brought ${received} of ${items} items`);
  return { rate: items / ((performance.now() - start) / 1000), operations: items };
}

const CALL_MS = 600;
const WARM_UP_MS = 300;

export const LOADS: Load[] = [
  {
    key: 'sequential',
    title: 'sequential calls (1 in flight)',
    unit: 'calls/s',
    size: CALL_MS,
    warmUpSize: WARM_UP_MS,
    targets: [{ against: 'floor', atLeast: 1 }],
    run: (stack, ms) => roundTrips(stack.echo, SMALL, 1, { ms }),
  },
  {
    key: 'inFlight64',
    title: '64 calls in flight',
    unit: 'calls/s',
    size: CALL_MS,
    warmUpSize: WARM_UP_MS,
    targets: [
      { against: 'floor', atLeast: 1.1 },
      { against: 'grpc-js', atLeast: 3 },
    ],
    run: (stack, ms) => roundTrips(stack.echo, SMALL, 64, { ms }),
  },
  {
    key: 'inFlight512',
    title: '512 callers (zrpc: through RPCClient, default max)',
    unit: 'calls/s',
    size: CALL_MS,
    warmUpSize: WARM_UP_MS,
    targets: [{ against: 'floor', atLeast: 0.8 }],
    run: (stack, ms) => roundTrips(stack.echoWide, SMALL, 512, { ms }),
  },
  {
    key: 'stream',
    title: 'stream of 100,000 items',
    unit: 'items/s',
    size: 100_000,
    warmUpSize: 20_000,
    targets: [
      { against: 'floor', atLeast: 0.8 },
      { against: 'grpc-js', atLeast: 1 },
    ],
    run: streamItems,
  },
  {
    key: 'megabyte',
    title: '1 MiB echo, 64 round trips',
    unit: 'MiB/s each way',
    size: 64,
    warmUpSize: 8,
    targets: [],
    // One round trip carries 1 MiB each way: calls/s is MiB/s.
    run: (stack, calls) => roundTrips(stack.echo, MEGABYTE, 1, { calls }),
  },
];
