import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  MAX_DEPTH,
  MAX_ENCODE_DEPTH,
  MessageIdGenerator,
  readableHead,
} from '../src/protocol.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** A msgpack map of one entry, key and value already encoded. */
const mapOf = (key: string, value = 'a0') => Buffer.from(`81${key}${value}`, 'hex');

describe('map keys other than strings (as Python peers send them)', () => {
  it.each([
    ['an integer', '01', 1],
    ['a negative integer', 'ff', -1],
    ['bytes', 'c4020102', new Uint8Array([1, 2])],
    ['true', 'c3', true],
    ['nil', 'c0', null],
    ['a float', 'cb3ff8000000000000', 1.5],
  ])('%s key decodes into a Map with that key and encodes back to the same bytes', (_l, k, key) => {
    const bytes = mapOf(k);
    const value = decodeValue(bytes) as Map<unknown, unknown>;
    expect(value).toBeInstanceOf(Map);
    expect([...value.keys()]).toEqual([key]);
    expect(hex(encodeValue(value))).toBe(hex(bytes));
  });

  it('string keys stay a plain object; mixed keys make a Map of both', () => {
    expect(decodeValue(mapOf('a161'))).toEqual({ a: '' });
    const mixed = decodeValue(Buffer.from('82a16101' + '0202', 'hex')) as Map<unknown, unknown>;
    expect([...mixed]).toEqual([
      ['a', 1],
      [2, 2],
    ]);
  });

  it('survive inside the args of an event, nested too', () => {
    const ids = new MessageIdGenerator();
    const args = [new Map<unknown, unknown>([[1, new Map([[true, 'yes']])]]), { plain: 1 }];
    const event = decodeEvent(
      encodeEvent({ header: { message_id: ids.next(), v: 3 }, name: 'f', args }),
    );
    expect(event.args).toEqual(args);
  });

  it('in a header they become text (a header is a map of strings)', () => {
    const payload = encodeValue([
      new Map<unknown, unknown>([
        ['message_id', 'x'],
        [7, 'seven'],
      ]),
      'f',
      [],
    ]);
    expect(decodeEvent(payload).header).toEqual({ message_id: 'x', '7': 'seven' });
  });

  it('a __proto__ key decodes into a Map too, and each map encodes back to the same bytes', () => {
    const proto = hex(encodeValue('__proto__'));
    // {"__proto__": 1}, then [{"__proto__": {"__proto__": [1]}}], then 3 levels of them.
    for (const bytes of [
      mapOf(proto, '01'),
      Buffer.from(`9181${proto}81${proto}9101`, 'hex'),
      Buffer.from(`81${proto}81${proto}81${proto}c0`, 'hex'),
    ]) {
      const value = decodeValue(bytes);
      expect(hex(encodeValue(value))).toBe(hex(bytes));
    }
    expect(decodeValue(mapOf(proto, '01'))).toStrictEqual(new Map([['__proto__', 1]]));
    expect({}).not.toHaveProperty('level');
  });

  it('a failed decode leaves no key behind for the next one', () => {
    expect(() => decodeValue(Buffer.from('820101c1', 'hex'))).toThrow();
    expect(decodeValue(mapOf('a161'))).toEqual({ a: '' });
  });
});

describe('nesting, as generous as msgpack-python', () => {
  const nested = (depth: number) => Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);

  it(`decodes ${MAX_DEPTH} levels (the reference unpacks 1024), refuses more`, () => {
    expect(MAX_DEPTH).toBeGreaterThanOrEqual(1024);
    expect(() => decodeValue(nested(MAX_DEPTH))).not.toThrow();
    expect(() => decodeValue(nested(MAX_DEPTH + 1))).toThrow(/nesting deeper/);
  });

  it(`encodes replies nested ${MAX_ENCODE_DEPTH - 2} deep (the reference packs 511)`, () => {
    let value: unknown = null;
    for (let i = 0; i < MAX_ENCODE_DEPTH - 2; i++) value = [value];
    const ids = new MessageIdGenerator();
    const event = { header: { message_id: ids.next(), v: 3 }, name: 'OK', args: value };
    expect(decodeEvent(encodeEvent(event)).args).toEqual(value);
  });
});

describe('readableHead: what can be read of an event that cannot be decoded', () => {
  const ids = new MessageIdGenerator();
  const id = ids.next();
  const head = Buffer.from(encodeValue({ message_id: id, v: 3 }));
  const event = (args: Buffer) =>
    Buffer.concat([Buffer.from([0x93]), head, Buffer.from(encodeValue('echo')), args]);

  it.each([
    [
      'args nested too deep',
      Buffer.concat([Buffer.alloc(MAX_DEPTH + 5, 0x91), Buffer.from([0xc0])]),
    ],
    ['invalid UTF-8', Buffer.from('91a2c328', 'hex')],
    ['truncated args', Buffer.from('93', 'hex')],
  ])('%s: decodeEvent refuses it, its id and name are still read', (_label, args) => {
    const payload = event(args);
    expect(() => decodeEvent(payload)).toThrow();
    const read = readableHead(payload)!;
    expect(read.name).toBe('echo');
    expect(Buffer.from(read.header.message_id as Uint8Array)).toEqual(Buffer.from(id));
  });

  it('answers undefined when even the header cannot be read', () => {
    expect(readableHead(Buffer.from('93c1', 'hex'))).toBeUndefined();
    expect(readableHead(Buffer.from('92a0a0', 'hex'))).toBeUndefined();
    expect(readableHead(Buffer.from([0x93, 0x80, 0xa1, 0x66, 0x90]))).toBeUndefined();
  });
});
