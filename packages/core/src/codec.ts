import { Decoder } from '@msgpack/msgpack';
import { ProtocolError } from './errors.js';
import { readEvent, writeEvent } from './event-fast-path.js';
import type { EventHeader, ZEvent } from './events.js';
import {
  decoder,
  decoderInternals,
  encoder,
  encoderInternals,
  resetMapKeys,
  restoreMapKeys,
} from './msgpack.js';

export { MAX_DEPTH, MAX_ENCODE_DEPTH } from './msgpack.js';

/** Encode any value as msgpack (bytes as bin, text as str, 64-bit ints exact). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decode one msgpack value; any malformed input becomes a `ProtocolError`. */
export function decodeValue(bytes: Uint8Array): unknown {
  return restoreMapKeys(decodeRaw(bytes));
}

/** `decodeValue` leaving the keys other than strings to `restoreMapKeys`. */
function decodeRaw(bytes: Uint8Array): unknown {
  resetMapKeys();
  try {
    return decoder.decode(bytes);
  } catch (err) {
    resetMapKeys();
    throw new ProtocolError(`invalid msgpack: ${(err as Error).message}`, { cause: err });
  }
}

/** Encode an event as the msgpack array `[header, name, args]`. */
export function encodeEvent(event: ZEvent): Uint8Array {
  const { header, name, args } = event;
  return writeEvent(encoderInternals, header, name, args) ?? encoder.encode([header, name, args]);
}

/**
 * Decode and validate one event payload. Throws `ProtocolError` for anything
 * that is not a 3-item array of map, str and args, or whose header has no
 * usable `message_id`.
 */
export function decodeEvent(bytes: Uint8Array): ZEvent {
  const fast = bytes instanceof Uint8Array ? readEvent(decoderInternals, bytes) : undefined;
  if (fast === undefined) return eventOf(decodeValue(bytes));
  [fast.header, fast.args] = restoreMapKeys([fast.header, fast.args]);
  return fast;
}

/** Reads what it can of an event, for `readableHead`: any map key, no depth limit worth noting. */
const lenient = new Decoder({ useBigInt64: true, mapKeyConverter: (key: unknown) => String(key) });

/**
 * The header and name of an event that `decodeEvent` refused, when they can
 * still be read (the args were what it could not decode), so that a request
 * can be answered with an ERR naming the reason instead of being dropped.
 * Undefined when even those are unreadable.
 */
export function readableHead(bytes: Uint8Array): { header: EventHeader; name: string } | undefined {
  let start: number;
  if (bytes[0] === 0x93) start = 1;
  else if (bytes[0] === 0xdc && bytes[1] === 0 && bytes[2] === 3) start = 3;
  else return undefined;
  try {
    const items = lenient.decodeMulti(bytes.subarray(start));
    const header = items.next().value as EventHeader | undefined;
    const name = items.next().value;
    if (typeof name !== 'string' || header === null || typeof header !== 'object') return undefined;
    const id = header.message_id;
    if (typeof id !== 'string' && !(id instanceof Uint8Array)) return undefined;
    return { header, name };
  } catch {
    return undefined;
  }
}

/**
 * The generic path of `decodeEvent` after `decodeValue`: checks a decoded
 * value and names what is wrong with it.
 */
export function eventOf(value: unknown): ZEvent {
  if (!Array.isArray(value)) throw new ProtocolError('event is not an array');
  if (value.length !== 3) {
    throw new ProtocolError(`event has ${value.length} items, expected 3`);
  }
  const [name, args] = [value[1], value[2]];
  const header = headerRecord(value[0]);
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new ProtocolError('event header is not a map');
  }
  if (header instanceof Uint8Array) throw new ProtocolError('event header is not a map');
  if (typeof name !== 'string') throw new ProtocolError('event name is not a string');
  const id = (header as EventHeader).message_id;
  if (typeof id !== 'string' && !(id instanceof Uint8Array)) {
    throw new ProtocolError('event header has no message_id');
  }
  const responseTo = (header as EventHeader).response_to;
  if (
    responseTo !== undefined &&
    typeof responseTo !== 'string' &&
    !(responseTo instanceof Uint8Array)
  ) {
    throw new ProtocolError('event response_to is neither bin nor str');
  }
  return { header: header as EventHeader, name, args };
}

/**
 * A decoded header as a record: a header is a map of strings, and one that
 * decoded into a `Map` (keys other than strings, or `__proto__`) has them
 * as text, each an own key (`Object.fromEntries` never sets a prototype).
 */
export function headerRecord(value: unknown): unknown {
  if (!(value instanceof Map)) return value;
  return Object.fromEntries([...value].map(([key, item]) => [String(key), item]));
}
