import { readFileSync } from 'node:fs';
import { fromRendered } from './vectors.js';

/*
 * The recorded one-way events of zerorpc-python (its Pusher, Publisher and
 * Puller), kept in this package's `vectors/` directory so that the tests
 * need nothing outside the repository.
 */

/** A rendered event: `[header, name, args]` in the vectors' JSON rendering (see `fromRendered`). */
export type RenderedEvent = [unknown, string, unknown];

/** One message as a reference Pusher or Publisher sent it. */
export interface SentMessage {
  /** Its frames (one: the msgpack event), as sent. */
  frames: Buffer[];
  event: RenderedEvent;
}

/** What a reference Pusher or Publisher sent for the calls listed. */
export interface SenderScenario {
  name: 'pusher_to_pull' | 'publisher_to_sub';
  pattern: 'PUSH/PULL' | 'PUB/SUB';
  /** The Python calls made, `ticket_created(42, 'printer on fire')`. */
  calls: string[];
  events: SentMessage[];
}

/** Events a raw PUSH sent to a reference Puller, and the methods it ran (name, then args). */
export interface PullerScenario {
  name: 'push_to_puller';
  pattern: 'PUSH/PULL';
  sent: RenderedEvent[];
  puller_ran: [string, ...unknown[]][];
  note: string;
}

export interface EventVectorFile {
  producer: string;
  scenarios: Array<SenderScenario | PullerScenario>;
}

const FILE = new URL('../vectors/zerorpc-python-events.json', import.meta.url);

// Integers beyond 2**53 must stay exact: mark long integer literals (never
// inside strings) before JSON.parse sees them; `fromRendered` reads the marks.
const LONG_INTEGERS = /"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.\deE])/g;

/** The recorded events; frames become Buffers, big integers stay exact. */
export function loadEventVectors(): EventVectorFile {
  const text = readFileSync(FILE, 'utf8').replace(LONG_INTEGERS, (match) =>
    match.startsWith('"') ? match : `{"$int":"${match}"}`,
  );
  const raw = JSON.parse(text);
  for (const scenario of raw.scenarios) {
    for (const message of scenario.events ?? []) {
      message.frames = message.frames_b64.map((b64: string) => Buffer.from(b64, 'base64'));
      delete message.frames_b64;
    }
  }
  return raw as EventVectorFile;
}

/** The scenario named `name`. */
export function eventScenario(name: 'push_to_puller'): PullerScenario;
export function eventScenario(name: SenderScenario['name']): SenderScenario;
export function eventScenario(name: string): SenderScenario | PullerScenario {
  const scenario = loadEventVectors().scenarios.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no event scenario named ${name}`);
  return scenario;
}

/** A rendered event as zrpc's codec decodes it: `{ header, name, args }`. */
export function eventOf([header, name, args]: RenderedEvent): {
  header: any;
  name: string;
  args: unknown;
} {
  return { header: fromRendered(header), name, args: fromRendered(args) };
}
