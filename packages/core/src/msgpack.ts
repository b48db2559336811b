import { isUtf8 } from 'node:buffer';
import { DecodeError, Decoder, Encoder } from '@msgpack/msgpack';

/**
 * Nesting deeper than this is refused on receive: as generous as the
 * reference (msgpack-python unpacks 1024 levels); no real payload comes close.
 */
export const MAX_DEPTH = 1024;
/** Nesting deeper than this is refused on send (msgpack-python packs 511 levels). */
export const MAX_ENCODE_DEPTH = 512;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
/** The one string key a JS object cannot hold as an ordinary key. */
const PROTO_KEY = '__proto__';

/*
 * @msgpack/msgpack does the work; the overrides below make it exact for
 * 64-bit integers and strict about hostile input, and the event fast paths
 * (event-fast-path.ts) drive it from a position of their choosing. All of
 * that reaches into the library's private members, pinned to
 * @msgpack/msgpack 3.1: every member used is declared in the two interfaces
 * below and nowhere else, and the codec tests cover them byte by byte.
 */

/** The private members of @msgpack/msgpack 3.1's Encoder that zrpc uses. */
export interface EncoderInternals {
  /** Next write position in `bytes`, which the encoder grows as needed. */
  pos: number;
  bytes: Uint8Array;
  /** Set while an encode runs: a nested encode must use a fresh encoder. */
  entered: boolean;
  /** Makes room for `size` more bytes at `pos`, growing `bytes` (a new array) if need be. */
  ensureBufferSizeToWrite(size: number): void;
  encodeString(value: string): void;
  /** Encodes any value at `pos`; `depth` counts the containers around it, the top value being 1. */
  doEncode(value: unknown, depth: number): void;
}

/** The private members of @msgpack/msgpack 3.1's Decoder that zrpc uses. */
export interface DecoderInternals {
  /** Next read position in `bytes`, and in `view`, a DataView of the same bytes. */
  pos: number;
  bytes: Uint8Array;
  view: DataView;
  /** The type byte of a value being read, or -1 between values. */
  headByte: number;
  /** The containers being read, innermost last. */
  stack: { length: number; reset(): void };
  /** Reads one whole value at `pos` and leaves `pos` after it. */
  doDecodeSync(): unknown;
  /** The process-wide cache of short map keys: text for bytes (no UTF-8 check). */
  keyDecoder: { decode(bytes: Uint8Array, start: number, byteLength: number): string };
  /** Whether the value being read is a map key. */
  stateIsMapKey(): boolean;
}

class EventDecoder extends Decoder {
  /**
   * Containers around the value being read that are not on `stack`: the
   * event fast path reads the items of an event one by one, so the depth
   * limit must still count the event array (and the header map) around them.
   */
  enclosingDepth = 0;
}
const decoderProto = EventDecoder.prototype as any;
const baseDecoder = Decoder.prototype as any;

export type ZrpcDecoder = DecoderInternals & { enclosingDepth: number };

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
function checkContainer(self: ZrpcDecoder, count: number) {
  if (count > self.bytes.byteLength - self.pos) {
    throw new DecodeError(`declared length ${count} exceeds the ${self.bytes.byteLength} bytes`);
  }
  if (self.stack.length + self.enclosingDepth >= MAX_DEPTH) {
    throw new DecodeError(`nesting deeper than ${MAX_DEPTH}`);
  }
}
decoderProto.pushArrayState = function (this: ZrpcDecoder, size: number) {
  checkContainer(this, size);
  baseDecoder.pushArrayState.call(this, size);
};
decoderProto.pushMapState = function (this: ZrpcDecoder, size: number) {
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
  const text = baseDecoder.decodeUtf8String.call(this, byteLength, headerOffset);
  // The stock decoder refuses a `__proto__` map key (assigned to an object,
  // it would set the object's prototype); Python peers send it as any other
  // key. It is stood for by a symbol, as keys other than strings are below,
  // so that its map becomes a `Map`: no object ever gets the key assigned.
  return byteLength === 9 && text === PROTO_KEY && this.stateIsMapKey() ? standFor(text) : text;
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

// A Map is written as a msgpack map whose keys keep their types (integers,
// bytes...): how a decoded map with keys other than strings travels back.
encoderProto.encodeObject = function (this: any, object: unknown, depth: number) {
  if (!(object instanceof Map)) return baseEncoder.encodeObject.call(this, object, depth);
  const size = object.size;
  if (size < 16) this.writeU8(0x80 + size);
  else if (size < 0x10000) {
    this.writeU8(0xde);
    this.writeU16(size);
  } else {
    this.writeU8(0xdf);
    this.writeU32(size);
  }
  for (const [key, value] of object) {
    this.doEncode(key, depth + 1);
    this.doEncode(value, depth + 1);
  }
};

/*
 * Map keys other than strings (integers, bytes, booleans, nil: all legal in
 * msgpack and used by Python peers) cannot be keys of a JS object without
 * turning into strings, nor can the string `__proto__` be one without
 * changing the object's prototype. While a value is decoded, each such key
 * is stood for by a fresh symbol; afterwards (`restoreMapKeys`) every object
 * holding such symbols becomes a `Map` with the original keys, which encodes
 * back the same.
 */
const keysBySymbol = new Map<symbol, unknown>();
function mapKeyConverter(key: unknown): string {
  // A symbol is a `__proto__` key already stood for (see decodeUtf8String).
  if (typeof key === 'string' || typeof key === 'symbol') return key as string;
  return standFor(key instanceof Uint8Array ? new Uint8Array(key) : key);
}
function standFor(key: unknown): string {
  const stand = Symbol('map key');
  keysBySymbol.set(stand, key);
  return stand as unknown as string;
}

/** Forget the keys of a decode that failed half way. */
export function resetMapKeys(): void {
  if (keysBySymbol.size > 0) keysBySymbol.clear();
}

/** `value` with every object that had keys other than strings made a `Map` (see above). */
export function restoreMapKeys<T>(value: T): T {
  if (keysBySymbol.size === 0) return value;
  try {
    return restore(value) as T;
  } finally {
    keysBySymbol.clear();
  }
}

function restore(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i]);
    return value;
  }
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const record = value as Record<string | symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(record);
  for (const key of Object.keys(record)) record[key] = restore(record[key]);
  if (symbols.length === 0) return record;
  const map = new Map<unknown, unknown>();
  for (const key of Object.keys(record)) map.set(key, record[key]);
  for (const stand of symbols) map.set(keysBySymbol.get(stand), restore(record[stand]));
  return map;
}

/** The one encoder of the process: bytes as bin, text as str, 64-bit ints exact. */
export const encoder = new EventEncoder({ useBigInt64: true, maxDepth: MAX_ENCODE_DEPTH });
/** The one decoder of the process: strict, exact 64-bit ints, depth and length guards. */
export const decoder = new EventDecoder({ useBigInt64: true, mapKeyConverter });
/** Inputs up to this size are read through a scratch copy (see `readFrom`). */
const SCRATCH_SIZE = 1024;
const scratch = new Uint8Array(SCRATCH_SIZE);
/** `scratchViews[n]`: a DataView of the first n bytes of `scratch`, made when first needed. */
const scratchViews: DataView[] = [];

/**
 * Points `dec` at `bytes` to read values one by one from `pos` on, as
 * `decoder.decode` does for a single value. The stock decoder makes a
 * DataView of every input, which costs more than copying a small one: a
 * small input is copied into a scratch buffer, whose DataView of that very
 * length is made once. Only the numbers and type bytes are read from the
 * copy; strings, bins and bounds come from `bytes` and its length, so the
 * values and errors are those of the stock decoder.
 */
export function readFrom(dec: DecoderInternals, bytes: Uint8Array, pos: number): void {
  const length = bytes.byteLength;
  if (length <= SCRATCH_SIZE) {
    scratch.set(bytes);
    dec.view = scratchViews[length] ??= new DataView(scratch.buffer, 0, length);
  } else {
    dec.view = new DataView(bytes.buffer, bytes.byteOffset, length);
  }
  dec.bytes = bytes;
  dec.pos = pos;
  // A read that failed half way leaves the decoder's state behind it.
  dec.headByte = -1;
  if (dec.stack.length > 0) dec.stack.reset();
}

/** `encoder` again, typed for the fast path. */
export const encoderInternals = encoder as unknown as EncoderInternals;
/** `decoder` again, typed for the fast path. */
export const decoderInternals = decoder as unknown as ZrpcDecoder;
