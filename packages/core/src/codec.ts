import { isUtf8 } from 'node:buffer';
import { DecodeError, Decoder, Encoder } from '@msgpack/msgpack';
import { ProtocolError } from './errors.js';
import type { MessageId } from './message-id.js';

/** zerorpc protocol version carried in every header as `v`. */
export const PROTOCOL_VERSION = 3;

/** Header of an event. Unknown keys travel untouched (task context). */
export interface EventHeader {
  message_id: MessageId;
  v?: number;
  response_to?: MessageId;
  [key: string]: unknown;
}

/** One zerorpc event: `[header, name, args]` on the wire. */
export interface ZEvent {
  header: EventHeader;
  name: string;
  args: unknown;
}

/** Nesting deeper than this is refused on receive (no real RPC payload comes close). */
export const MAX_DEPTH = 256;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * @msgpack/msgpack does the work; these few overrides make it exact for
 * 64-bit integers and strict about hostile input. They reach into the
 * decoder's internals (pinned to @msgpack/msgpack 3.1), which the codec
 * tests cover byte by byte.
 */
interface DecoderInternals {
  pos: number;
  bytes: Uint8Array;
  view: DataView;
  stack: { length: number };
}

class EventDecoder extends Decoder {}
const decoderProto = EventDecoder.prototype as any;
const baseDecoder = Decoder.prototype as any;

// 64-bit integers: a number when it is safe, a bigint when it is not.
decoderProto.readU64AsBigInt = function (this: DecoderInternals) {
  const value = this.view.getBigUint64(this.pos);
  this.pos += 8;
  return value <= MAX_SAFE ? Number(value) : value;
};
decoderProto.readI64AsBigInt = function (this: DecoderInternals) {
  const value = this.view.getBigInt64(this.pos);
  this.pos += 8;
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
};
// A declared length larger than the bytes left cannot be honest: fail before
// allocating it. Each element takes at least one byte, each map entry two.
function checkContainer(self: DecoderInternals, count: number) {
  if (count > self.bytes.byteLength - self.pos) {
    throw new DecodeError(`declared length ${count} exceeds the ${self.bytes.byteLength} bytes`);
  }
  if (self.stack.length >= MAX_DEPTH) throw new DecodeError(`nesting deeper than ${MAX_DEPTH}`);
}
decoderProto.pushArrayState = function (this: DecoderInternals, size: number) {
  checkContainer(this, size);
  baseDecoder.pushArrayState.call(this, size);
};
decoderProto.pushMapState = function (this: DecoderInternals, size: number) {
  checkContainer(this, size * 2);
  baseDecoder.pushMapState.call(this, size);
};
// Text must be valid UTF-8; the stock decoder would silently mangle it.
decoderProto.decodeUtf8String = function (
  this: DecoderInternals,
  byteLength: number,
  headerOffset: number,
) {
  const start = this.pos + headerOffset;
  const end = start + byteLength;
  if (end <= this.bytes.byteLength) {
    const bytes = this.bytes;
    let i = start;
    while (i < end && bytes[i]! < 0x80) i++;
    if (i < end && !isUtf8(bytes.subarray(i, end))) {
      throw new DecodeError('str is not valid UTF-8');
    }
  }
  return baseDecoder.decodeUtf8String.call(this, byteLength, headerOffset);
};

class EventEncoder extends Encoder {}
const encoderProto = EventEncoder.prototype as any;
const baseEncoder = Encoder.prototype as any;
// With useBigInt64 the stock encoder writes integers beyond 32 bits as
// floats; keep every safe integer an integer.
encoderProto.encodeNumber = function (this: any, value: number) {
  if (Number.isSafeInteger(value) && (value >= 0x1_0000_0000 || value < -0x8000_0000)) {
    if (value >= 0) {
      this.writeU8(0xcf);
      this.writeU64(value);
    } else {
      this.writeU8(0xd3);
      this.writeI64(value);
    }
    return;
  }
  // The stock encoder takes -0 for the integer 0; keep it the float it was.
  if (value === 0 && 1 / value < 0) {
    this.writeU8(0xcb);
    this.writeF64(value);
    return;
  }
  baseEncoder.encodeNumber.call(this, value);
};
encoderProto.encodeBigInt64 = function (this: any, value: bigint) {
  if (value > UINT64_MAX || value < INT64_MIN) {
    throw new RangeError(`${value} does not fit in a 64-bit integer`);
  }
  baseEncoder.encodeBigInt64.call(this, value);
};

const encoder = new EventEncoder({ useBigInt64: true });
const decoder = new EventDecoder({ useBigInt64: true });

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
  return encoder.encode([event.header, event.name, event.args]);
}

/**
 * Decode and validate one event payload. Throws `ProtocolError` for anything
 * that is not a 3-item array of map, str and args, or whose header has no
 * usable `message_id`.
 */
export function decodeEvent(bytes: Uint8Array): ZEvent {
  const value = decodeValue(bytes);
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
