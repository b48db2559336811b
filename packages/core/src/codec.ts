import { ProtocolError } from './errors.js';
import { readEvent, writeEvent } from './event-fast-path.js';
import type { EventHeader, ZEvent } from './events.js';
import { decoder, decoderInternals, encoder, encoderInternals } from './msgpack.js';

export { MAX_DEPTH } from './msgpack.js';

/** Encode any value as msgpack (bytes as bin, text as str, 64-bit ints exact). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decode one msgpack value; any malformed input becomes a `ProtocolError`. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (err) {
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
  return (
    (bytes instanceof Uint8Array ? readEvent(decoderInternals, bytes) : undefined) ??
    eventOf(decodeValue(bytes))
  );
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
  const [header, name, args] = value;
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
