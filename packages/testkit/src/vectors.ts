import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A recorded event: direction, time, raw frames and the decoded event (rendered form). */
export interface RecordedEvent {
  dir: 'c2s' | 's2c';
  t_ms: number;
  /** The frames as sent by the DEALER/ROUTER, identity frames stripped. */
  frames: Buffer[];
  /** The event in the vectors' JSON rendering, see `fromRendered`. */
  event: [unknown, string, unknown];
}

export interface Scenario {
  name: string;
  client_saw: { ok?: unknown; remote_error?: [string, string]; error?: [string, string] };
  events: RecordedEvent[];
}

export interface VectorFile {
  server: string;
  client: string;
  server_methods: Record<string, string>;
  scenarios: Scenario[];
}

export type VectorFileName = 'zerorpc-python-server.json' | 'zerorpc-node-server.json';

/**
 * Where the recorded vectors live: `packages/testkit/vectors`, inside the
 * repository, so that a clone tests itself with nothing beside it.
 */
export function vectorsDir(): string {
  // From src/ (run through tsx or vitest) and from dist/ alike.
  return fileURLToPath(new URL('../vectors/', import.meta.url));
}

// Integers beyond 2**53 must stay exact: mark long integer literals (never
// inside strings) before JSON.parse sees them.
const LONG_INTEGERS = /"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.\deE])/g;

/** Load one vector file; frames become Buffers, big integers stay exact. */
export function loadVectors(file: VectorFileName): VectorFile {
  const text = readFileSync(join(vectorsDir(), file), 'utf8').replace(LONG_INTEGERS, (match) =>
    match.startsWith('"') ? match : `{"$int":"${match}"}`,
  );
  const raw = JSON.parse(text);
  for (const scenario of raw.scenarios) {
    for (const event of scenario.events) {
      event.frames = event.frames_b64.map((b64: string) => Buffer.from(b64, 'base64'));
      delete event.frames_b64;
    }
  }
  return raw as VectorFile;
}

/**
 * Turn the vectors' JSON rendering into the values zrpc's codec produces:
 * `{"$bin": hex}` → Uint8Array, `{"$map": [[k, v]]}` → object, `{"$float": s}`
 * → number, long integers → bigint when beyond the safe range.
 */
export function fromRendered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromRendered);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('$bin' in obj) return new Uint8Array(Buffer.from(obj.$bin as string, 'hex'));
  if ('$float' in obj) return Number(obj.$float);
  if ('$int' in obj) {
    const big = BigInt(obj.$int as string);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
  if ('$map' in obj) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of obj.$map as [string, unknown][]) out[k] = fromRendered(v);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = fromRendered(v);
  return out;
}

/** The recorded event as a zrpc `ZEvent`-shaped value. */
export function recordedEvent(event: RecordedEvent): { header: any; name: string; args: unknown } {
  const [header, name, args] = event.event;
  return { header: fromRendered(header), name, args: fromRendered(args) };
}
