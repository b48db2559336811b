import { copyOf } from './byte-pool.js';
import type { EventHeader, ZEvent } from './events.js';
import { type EncoderInternals, readFrom, type ZrpcDecoder } from './msgpack.js';

/*
 * encodeEvent and decodeEvent for the events zrpc sends and receives all the
 * time: a fixarray of three, a plain header map of a few keys, a str name.
 * What the generic path costs most for per event (the envelope, the known
 * header keys, bin ids, short ASCII strings, a fresh ArrayBuffer per
 * encoded event, a DataView per decoded one) is done here by hand; the
 * other values go through the same encoder and decoder as the generic path.
 * For anything else these functions answer undefined (writeEvent before
 * writing anything) and the caller takes the generic path, which also has
 * the final word on every error.
 */

/** The header keys that nearly every event has, as msgpack fixstr bytes (matched when reading). */
const KNOWN_KEYS = ['message_id', 'v', 'response_to', 'zrpc_hb'].map((key) => ({
  key,
  bytes: Uint8Array.from([0xa0 | key.length, ...Buffer.from(key, 'latin1')]),
}));
const FIXARRAY = 0x90;
const FIXMAP = 0x80;
const MAP16 = 0xde;
const BIN8 = 0xc4;
const UINT8 = 0xcc;
const UINT16 = 0xcd;
const UINT32 = 0xce;
const FIXSTR = 0xa0;
/** The longest text the decoder's key cache keeps. */
const MAX_CACHED_NAME = 16;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** A number msgpack writes as one byte; not 0, which may be -0, a float. */
const isPositiveFixint = (value: unknown): value is number =>
  typeof value === 'number' && value > 0 && value < 0x80 && Number.isInteger(value);

/**
 * The bytes the generic `encoder.encode([header, name, args])` would make,
 * without its per-object extension lookup (the default codec only ever
 * matches a Date), its UTF-8 counting pass over short ASCII keys and
 * strings, and its fresh ArrayBuffer per event.
 */
export function writeEvent(
  enc: EncoderInternals,
  header: unknown,
  name: unknown,
  args: unknown,
): Uint8Array | undefined {
  // A nested encode (a getter that encodes) gets a fresh encoder from the
  // generic path; headers of 16 keys or more are too rare to matter.
  if (enc.entered || typeof name !== 'string' || !isPlainObject(header)) return undefined;
  const keys = Object.keys(header);
  if (keys.length >= 16) return undefined;
  enc.entered = true;
  try {
    enc.pos = 0;
    writeByte(enc, FIXARRAY | 3);
    writeByte(enc, FIXMAP | keys.length);
    for (const key of keys) {
      const value = header[key];
      writeString(enc, key);
      // Depths as the generic path counts them: event 1, header 2, its values 3.
      if (value instanceof Uint8Array && value.byteLength < 0x100) {
        writeByte(enc, BIN8);
        writeByte(enc, value.byteLength);
        writeBytes(enc, value);
      } else if (isPositiveFixint(value)) {
        writeByte(enc, value); // like v: 3
      } else if (isUint32(value)) {
        writeUint(enc, value); // like zrpc_hb: 5000
      } else {
        enc.doEncode(value, 3);
      }
    }
    writeString(enc, name);
    if (Array.isArray(args) && args.length < 16) {
      writeByte(enc, FIXARRAY | args.length);
      for (const arg of args) {
        if (typeof arg === 'string') writeString(enc, arg);
        else enc.doEncode(arg, 3);
      }
    } else {
      enc.doEncode(args, 2);
    }
    return copyOf(enc.bytes, enc.pos);
  } finally {
    enc.entered = false;
  }
}

/** A whole number msgpack writes as uint8, uint16 or uint32 (the fixints aside). */
const isUint32 = (value: unknown): value is number =>
  typeof value === 'number' && value >= 0x80 && value <= 0xffffffff && Number.isInteger(value);

/** `value` (see `isUint32`) in the fewest bytes, as the encoder writes it. */
function writeUint(enc: EncoderInternals, value: number): void {
  if (value < 0x100) {
    writeByte(enc, UINT8);
    writeByte(enc, value);
  } else if (value < 0x10000) {
    writeByte(enc, UINT16);
    writeByte(enc, value >>> 8);
    writeByte(enc, value & 0xff);
  } else {
    writeByte(enc, UINT32);
    writeByte(enc, value >>> 24);
    writeByte(enc, (value >>> 16) & 0xff);
    writeByte(enc, (value >>> 8) & 0xff);
    writeByte(enc, value & 0xff);
  }
}

// The encoder's own writeU8 and writeU8a go through a DataView and
// Uint8Array#set, which cost more than these for a byte or a few.
function writeByte(enc: EncoderInternals, byte: number): void {
  if (enc.pos >= enc.bytes.length) enc.ensureBufferSizeToWrite(1);
  enc.bytes[enc.pos++] = byte;
}

/** `enc.encodeString`, quicker for short ASCII text. */
function writeString(enc: EncoderInternals, text: string): void {
  const length = text.length;
  if (length < 32) {
    if (enc.pos + length + 1 > enc.bytes.length) enc.ensureBufferSizeToWrite(length + 1);
    const target = enc.bytes;
    const start = enc.pos + 1;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      target[start + i] = code;
    }
    if (i === length) {
      target[start - 1] = 0xa0 | length; // fixstr
      enc.pos = start + length;
      return;
    }
  }
  enc.encodeString(text);
}

function writeBytes(enc: EncoderInternals, bytes: Uint8Array): void {
  const length = bytes.length;
  if (enc.pos + length > enc.bytes.length) enc.ensureBufferSizeToWrite(length);
  const target = enc.bytes;
  const pos = enc.pos;
  for (let i = 0; i < length; i++) target[pos + i] = bytes[i]!;
  enc.pos = pos + length;
}

/** The known key whose fixstr starts at `pos`, if any. */
function knownKeyAt(bytes: Uint8Array, pos: number): string | undefined {
  next: for (const { key, bytes: wanted } of KNOWN_KEYS) {
    if (bytes[pos] !== wanted[0]) continue;
    for (let i = 1; i < wanted.length; i++) if (bytes[pos + i] !== wanted[i]) continue next;
    return key;
  }
  return undefined;
}

/**
 * What the generic path (`decoder.decode` and the event checks) would
 * answer for a well-formed event, or undefined: for a malformed one, or one
 * shaped unlike the usual.
 */
export function readEvent(dec: ZrpcDecoder, bytes: Uint8Array): ZEvent | undefined {
  if (bytes[0] !== (FIXARRAY | 3)) return undefined;
  const mapHead = bytes[1]!;
  let size: number;
  if (mapHead >= FIXMAP && mapHead < FIXMAP + 16) {
    size = mapHead - FIXMAP;
    readFrom(dec, bytes, 2);
  } else if (mapHead === MAP16 && bytes.length > 4) {
    size = (bytes[2]! << 8) | bytes[3]!;
    readFrom(dec, bytes, 4);
  } else {
    return undefined;
  }
  // From here on `dec.pos` is the cursor, whether the decoder reads or this function.
  try {
    const header: Record<string, unknown> = {};
    dec.enclosingDepth = 2; // the event array and the header map
    for (let i = 0; i < size; i++) {
      let key = knownKeyAt(bytes, dec.pos);
      if (key === undefined) {
        const other = dec.doDecodeSync();
        if (typeof other !== 'string' || other === '__proto__') return undefined;
        key = other;
      } else {
        dec.pos += key.length + 1;
      }
      header[key] = readHeaderValue(dec, bytes);
    }
    const name = readName(dec, bytes);
    if (typeof name !== 'string') return undefined;
    dec.enclosingDepth = 1; // the event array
    const args = dec.doDecodeSync();
    if (dec.pos !== bytes.length || !isId(header.message_id)) return undefined;
    if (header.response_to !== undefined && !isId(header.response_to)) return undefined;
    return { header: header as EventHeader, name, args };
  } catch {
    return undefined;
  } finally {
    dec.enclosingDepth = 0;
  }
}

/**
 * The event name. Names repeat (method names, OK, _zpc_hb): a short ASCII
 * one comes from the decoder's cache of map keys rather than being decoded
 * anew.
 */
function readName(dec: ZrpcDecoder, bytes: Uint8Array): unknown {
  const pos = dec.pos;
  const length = bytes[pos]! - FIXSTR;
  if (length >= 1 && length <= MAX_CACHED_NAME && pos + 1 + length <= bytes.length) {
    let i = pos + 1;
    while (i <= pos + length && bytes[i]! < 0x80) i++;
    if (i > pos + length) {
      dec.pos = i;
      return dec.keyDecoder.decode(bytes, pos + 1, length);
    }
  }
  return dec.doDecodeSync();
}

/** A header value: bin ids and unsigned ints by hand, anything else by the decoder. */
function readHeaderValue(dec: ZrpcDecoder, bytes: Uint8Array): unknown {
  const pos = dec.pos;
  const head = bytes[pos]!;
  if (head < 0x80) {
    dec.pos = pos + 1;
    return head; // positive fixint
  }
  const uintBytes = head === UINT8 ? 1 : head === UINT16 ? 2 : head === UINT32 ? 4 : 0;
  if (uintBytes > 0 && pos + uintBytes < bytes.length) {
    let value = 0;
    for (let i = 1; i <= uintBytes; i++) value = value * 256 + bytes[pos + i]!;
    dec.pos = pos + 1 + uintBytes;
    return value;
  }
  const binEnd = pos + 2 + bytes[pos + 1]!;
  if (head === BIN8 && binEnd <= bytes.length) {
    dec.pos = binEnd;
    return bytes.subarray(pos + 2, binEnd);
  }
  return dec.doDecodeSync();
}

const isId = (value: unknown): boolean => typeof value === 'string' || value instanceof Uint8Array;
