import { inspect } from 'node:util';

/**
 * A value for people, like zerorpc-python's pprint: bytes as `b'..'`,
 * big integers in full, nothing cut short.
 */
export function pretty(value: unknown): string {
  return inspect(readable(value), {
    depth: Number.POSITIVE_INFINITY,
    maxArrayLength: Number.POSITIVE_INFINITY,
    maxStringLength: Number.POSITIVE_INFINITY,
    breakLength: 100,
  });
}

/** Shown as the given text by `inspect`. */
class Shown {
  constructor(private readonly text: string) {}
  [inspect.custom](): string {
    return this.text;
  }
}

function readable(value: unknown): unknown {
  if (typeof value === 'bigint') return new Shown(value.toString());
  if (value instanceof Uint8Array) return new Shown(bytesLiteral(value));
  if (Array.isArray(value)) return value.map(readable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v)]));
  }
  return value;
}

const ESCAPES: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };

/** Python's bytes literal: printable ASCII as is, the rest as `\xNN`. */
export function bytesLiteral(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x27 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += ESCAPES[byte] ?? `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `b'${text}'`;
}

/**
 * A value as one line of JSON. Integers stay exact however big; bytes
 * become `{"$bin": "<hex>"}` as in the recorded vectors.
 */
export function toJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `{"$bin":"${Buffer.from(value).toString('hex')}"}`;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`);
    return `{${entries.join(',')}}`;
  }
  return 'null';
}
