import { randomBytes, randomUUID } from 'node:crypto';

/** A message id as it travels: bin (zerorpc-python, zrpc) or str (zerorpc-node). */
export type MessageId = Uint8Array | string;

/**
 * Makes message ids shaped like zerorpc-python's: 32 ASCII hex bytes sent as
 * msgpack bin, an 8-hex-digit counter followed by 24 hex digits fixed per
 * generator (`b678ed78ff0841ed8e4c17cb78b094dd`, `b678ed79ff08...`).
 */
export class MessageIdGenerator {
  private counter = randomBytes(4).readUInt32BE(0);
  private readonly suffix = Buffer.from(randomUUID().replaceAll('-', '').slice(0, 24), 'latin1');

  next(): Uint8Array {
    const id = Buffer.allocUnsafe(32);
    id.write(this.counter.toString(16).padStart(8, '0'), 0, 'latin1');
    this.suffix.copy(id, 8);
    this.counter = (this.counter + 1) >>> 0;
    return id;
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
