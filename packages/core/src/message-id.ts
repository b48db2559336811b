import { randomBytes, randomUUID } from 'node:crypto';

/** A message id as it travels: bin (zerorpc-python, zrpc) or str (zerorpc-node). */
export type MessageId = Uint8Array | string;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Byte -> its value as a lowercase hex digit, -1 for any other byte. */
const HEX_VALUES = new Int8Array(256).fill(-1);
for (const [value, byte] of HEX_DIGITS.entries()) HEX_VALUES[byte] = value;

/**
 * Makes message ids shaped like zerorpc-python's: 32 ASCII hex bytes sent as
 * msgpack bin, an 8-hex-digit counter followed by 24 hex digits fixed per
 * generator (`b678ed78ff0841ed8e4c17cb78b094dd`, `b678ed79ff08...`).
 */
export class MessageIdGenerator {
  private counter = randomBytes(4).readUInt32BE(0);
  /** An id with the fixed suffix in place: each id is a copy with its counter written in. */
  private readonly template = new Uint8Array(32);

  constructor() {
    const suffix = randomUUID().replaceAll('-', '').slice(0, 24);
    this.template.set(Buffer.from(suffix, 'latin1'), 8);
  }

  next(): Uint8Array {
    return this.countInto(new Uint8Array(this.template));
  }

  /**
   * A short id, the counter's 8 hex digits alone, for the events a zrpc
   * server sends a zrpc client (docs/EXTENSIONS.md, "Short ids on events to
   * a zrpc client"): nothing routes by such an id, and 24 bytes fewer keep
   * a small reply at most 128 bytes, which zeromq.js copies instead of
   * handing over and releasing later on the main thread (a wake-up of its
   * event loop for each message sent while it was idle).
   */
  nextShort(): Uint8Array {
    return this.countInto(new Uint8Array(8));
  }

  /** Write the counter into the first 8 bytes of `id`, and count one. */
  private countInto(id: Uint8Array): Uint8Array {
    // Digit by digit: a call makes an id or two, and this is several times
    // cheaper than toString(16), padStart and a string write.
    let counter = this.counter;
    for (let i = 7; i >= 0; i--) {
      id[i] = HEX_DIGITS[counter & 0xf]!;
      counter >>>= 4;
    }
    this.counter = (this.counter + 1) >>> 0;
    return id;
  }

  /**
   * The counter of `id` if this generator made it (bin, its suffix, lowercase
   * hex digits), else undefined. Two of its ids have the same bytes exactly
   * when their counters are equal, so a caller routing replies to its own
   * requests can key them by this number instead of by `messageIdKey`: a Map
   * of numbers is much cheaper than one of 33-character strings made per
   * lookup.
   */
  counterOf(id: unknown): number | undefined {
    if (!(id instanceof Uint8Array) || id.length !== 32) return undefined;
    for (let i = 8; i < 32; i++) if (id[i] !== this.template[i]) return undefined;
    let counter = 0;
    for (let i = 0; i < 8; i++) {
      const digit = HEX_VALUES[id[i]!]!;
      if (digit < 0) return undefined;
      counter = counter * 16 + digit;
    }
    return counter;
  }
}

/**
 * A string key that is equal for two ids exactly when they have the same
 * msgpack type and bytes, so a bin id and a str id never collide.
 */
export function messageIdKey(id: unknown): string | undefined {
  if (typeof id === 'string') return `s${id}`;
  if (id instanceof Uint8Array) {
    return `b${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1')}`;
  }
  return undefined;
}
