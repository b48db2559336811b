import { recordedEvent } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  MessageIdGenerator,
  messageIdKey,
  openEnvelope,
  PROTOCOL_VERSION,
  type ZEvent,
} from '../src/protocol.js';
import { allRecorded, bytes, hex, payloadOf, scenario } from './support/vectors.js';

/**
 * The only recorded payload that zrpc does not re-encode byte for byte.
 * zerorpc-node writes every integer beyond 32 bits as a float64, so its echo
 * of -1099511627776 arrives as `cb c270000000000000`. In JavaScript that
 * float is the very same number as the integer, and zrpc writes a safe
 * integer as an integer (`d3 ffffff0000000000`), as the reference does.
 * (Its echo of 2**63, also a float, re-encodes unchanged: that number is
 * beyond the safe range, so zrpc keeps it a float.)
 */
const REWRITES = [
  {
    file: 'zerorpc-node-server.json',
    scenario: 'echo_complex',
    name: 'OK',
    float: 'cbc270000000000000',
    int: 'd3ffffff0000000000',
  },
];

const recorded = allRecorded();

describe('recorded traffic, both vector files', () => {
  it('covers both files and every scenario', () => {
    expect(new Set(recorded.map((r) => r.file)).size).toBe(2);
    expect(recorded.length).toBeGreaterThan(600);
  });

  it.each(recorded.map((r) => [`${r.file} ${r.scenario} #${r.index}`, r] as const))(
    '%s decodes to its recorded event and round-trips',
    (_label, { file, scenario: name, event }) => {
      const envelope = openEnvelope(event.frames);
      expect(envelope?.payload).toBe(payloadOf(event));
      // A plain Uint8Array copy, so that bins decode as Uint8Array, not Buffer
      // views, and compare strictly with the rendered vectors.
      const payload = new Uint8Array(payloadOf(event));
      const decoded = decodeEvent(payload);
      expect(decoded).toStrictEqual(recordedEvent(event));

      const encoded = encodeEvent(decoded);
      expect(decodeEvent(encoded)).toStrictEqual(decoded);

      const rewrite = REWRITES.find(
        (r) => r.file === file && r.scenario === name && r.name === decoded.name,
      );
      let expected = hex(payload);
      if (rewrite) {
        expect(expected.split(rewrite.float)).toHaveLength(2);
        expected = expected.replace(rewrite.float, rewrite.int);
      }
      expect(hex(encoded)).toBe(expected);
    },
  );

  it("zerorpc-node's float -1099511627776.0 is the reference's integer, and its 2**63 lost precision", () => {
    const reply = (file: 'zerorpc-python-server.json' | 'zerorpc-node-server.json') => {
      const ok = scenario(file, 'echo_complex').events.find((e) => e.event[1] === 'OK')!;
      return {
        payload: hex(payloadOf(ok)),
        value: (decodeEvent(payloadOf(ok)).args as Array<Record<string, unknown>>)[0]!,
      };
    };
    const python = reply('zerorpc-python-server.json');
    const node = reply('zerorpc-node-server.json');
    expect(python.payload).toContain(`a36e6567d3ffffff0000000000`); // "neg": int64
    expect(node.payload).toContain(`a36e6567cbc270000000000000`); // "neg": float64
    expect(Object.is(node.value.neg, python.value.neg)).toBe(true);
    expect(node.value.neg).toBe(-1099511627776);
    expect(python.value.big).toBe(2n ** 63n);
    expect(node.value.big).toBe(2 ** 63);
    expect(typeof node.value.big).toBe('number');
  });
});

describe('64-bit integers', () => {
  const u64 = (value: bigint) => `cf${value.toString(16).padStart(16, '0')}`;
  const i64 = (value: bigint) => `d3${BigInt.asUintN(64, value).toString(16).padStart(16, '0')}`;

  it('decodes 2**63 to the exact bigint and encodes it back as uint64', () => {
    expect(decodeValue(bytes('cf8000000000000000'))).toBe(9223372036854775808n);
    expect(hex(encodeValue(9223372036854775808n))).toBe('cf8000000000000000');
  });

  it.each([
    ['int64 min', i64(-(2n ** 63n)), -(2n ** 63n)],
    ['int64 max', u64(2n ** 63n - 1n), 2n ** 63n - 1n],
    ['uint64 max', u64(2n ** 64n - 1n), 2n ** 64n - 1n],
    ['2**53, the first unsafe integer', u64(2n ** 53n), 2n ** 53n],
    ['-(2**53)', i64(-(2n ** 53n)), -(2n ** 53n)],
  ])('%s stays an exact bigint both ways', (_label, wire, value) => {
    expect(decodeValue(bytes(wire))).toBe(value);
    expect(hex(encodeValue(value))).toBe(wire);
  });

  it('int64 max sent as int64 decodes the same as sent as uint64', () => {
    expect(decodeValue(bytes(i64(2n ** 63n - 1n)))).toBe(2n ** 63n - 1n);
  });

  it.each([
    ['max safe', Number.MAX_SAFE_INTEGER, u64(BigInt(Number.MAX_SAFE_INTEGER))],
    ['min safe', Number.MIN_SAFE_INTEGER, i64(BigInt(Number.MIN_SAFE_INTEGER))],
    ['2**32', 2 ** 32, u64(2n ** 32n)],
    ['2**40', 2 ** 40, u64(2n ** 40n)],
    ['-(2**31) - 1', -(2 ** 31) - 1, i64(-(2n ** 31n) - 1n)],
    ['-(2**40)', -(2 ** 40), i64(-(2n ** 40n))],
  ])(
    'the safe integer %s is encoded as a 64-bit int, not a float, and decodes to a number',
    (_label, value, wire) => {
      expect(hex(encodeValue(value))).toBe(wire);
      const back = decodeValue(bytes(wire));
      expect(typeof back).toBe('number');
      expect(back).toBe(value);
    },
  );

  it.each([
    [0, '00'],
    [127, '7f'],
    [-32, 'e0'],
    [255, 'ccff'],
    [2 ** 32 - 1, 'ceffffffff'],
    [-(2 ** 31), 'd280000000'],
  ])('smaller integers keep their smallest form: %d', (value, wire) => {
    expect(hex(encodeValue(value))).toBe(wire);
    expect(decodeValue(bytes(wire))).toBe(value);
  });

  it('a 64-bit wire integer within the safe range decodes to a number', () => {
    expect(decodeValue(bytes(u64(5n)))).toBe(5);
    expect(decodeValue(bytes(i64(-1n)))).toBe(-1);
  });

  it('floats stay float64, including numbers beyond the safe range and -0', () => {
    expect(hex(encodeValue(2.5))).toBe('cb4004000000000000');
    expect(hex(encodeValue(-0))).toBe('cb8000000000000000');
    expect(Object.is(decodeValue(encodeValue(-0)), -0)).toBe(true);
    expect(hex(encodeValue(0))).toBe('00');
    expect(encodeValue(2 ** 64)[0]).toBe(0xcb);
    expect(decodeValue(encodeValue(2 ** 64))).toBe(2 ** 64);
  });

  it.each([
    ['2**64', 2n ** 64n],
    ['-(2**63) - 1', -(2n ** 63n) - 1n],
    ['2**100', 2n ** 100n],
  ])(
    'a bigint beyond 64 bits (%s) is an encode error, and the encoder stays usable',
    (_l, value) => {
      const event: ZEvent = { header: { message_id: 'x', v: 3 }, name: 'echo', args: [value] };
      expect(() => encodeEvent(event)).toThrow(/does not fit in a 64-bit integer/);
      expect(() => encodeValue(value)).toThrow(RangeError);
      expect(hex(encodeValue([1, 2n ** 63n]))).toBe(`92 01 ${u64(2n ** 63n)}`.replaceAll(' ', ''));
    },
  );
});

describe('message ids and response_to', () => {
  const HEX_ID = /^[0-9a-f]{32}$/;
  const ascii = (id: Uint8Array) => Buffer.from(id).toString('latin1');

  it('are 32 ASCII hex bytes: a counter, then 24 hex digits fixed per generator', () => {
    const gen = new MessageIdGenerator();
    const ids = Array.from({ length: 5 }, () => ascii(gen.next()));
    for (const id of ids) expect(id).toMatch(HEX_ID);
    expect(new Set(ids.map((id) => id.slice(8))).size).toBe(1);
    const counters = ids.map((id) => Number.parseInt(id.slice(0, 8), 16));
    for (let i = 1; i < counters.length; i++) {
      expect(counters[i]).toBe((counters[i - 1]! + 1) >>> 0);
    }
    expect(ascii(new MessageIdGenerator().next()).slice(8)).not.toBe(ids[0]!.slice(8));
  });

  it('have the shape of the ids zerorpc-python sends', () => {
    const request = scenario('zerorpc-python-server.json', 'add').events[0]!;
    const theirs = decodeEvent(payloadOf(request)).header.message_id as Uint8Array;
    const ours = new MessageIdGenerator().next();
    expect(ascii(theirs)).toMatch(HEX_ID);
    expect(ours).toHaveLength(theirs.length);
    expect(hex(encodeValue(ours)).slice(0, 4)).toBe(hex(encodeValue(theirs)).slice(0, 4));
  });

  it('let the counter wrap around after ffffffff', () => {
    const gen = new MessageIdGenerator();
    (gen as unknown as { counter: number }).counter = 0xffffffff;
    expect(ascii(gen.next()).slice(0, 8)).toBe('ffffffff');
    expect(ascii(gen.next()).slice(0, 8)).toBe('00000000');
  });

  it('short ones are the counter alone, counted with the long ones, and never routable', () => {
    const gen = new MessageIdGenerator();
    (gen as unknown as { counter: number }).counter = 0xfffffffe;
    const [long, short, wrapped] = [gen.next(), gen.nextShort(), gen.nextShort()];
    expect(ascii(short)).toBe('ffffffff');
    expect(ascii(wrapped)).toBe('00000000');
    expect(hex(encodeValue(short)).slice(0, 4)).toBe('c408');
    expect(gen.counterOf(long)).toBe(0xfffffffe);
    expect(gen.counterOf(short)).toBeUndefined();
  });

  it("counterOf answers the counter of the generator's own ids only", () => {
    const gen = new MessageIdGenerator();
    (gen as unknown as { counter: number }).counter = 0xfffffffe;
    const [a, b] = [gen.next(), gen.next()];
    expect(gen.counterOf(a)).toBe(0xfffffffe);
    expect(gen.counterOf(b)).toBe(0xffffffff);
    // The same bytes elsewhere in memory (a view of a received frame).
    const frame = Buffer.concat([Buffer.from('xx'), a]);
    expect(gen.counterOf(frame.subarray(2))).toBe(0xfffffffe);
    const upper = new Uint8Array(
      Buffer.from(ascii(a).slice(0, 8).toUpperCase() + ascii(a).slice(8)),
    );
    expect(gen.counterOf(upper)).toBeUndefined();
    expect(gen.counterOf(new MessageIdGenerator().next())).toBeUndefined();
    expect(gen.counterOf(ascii(a))).toBeUndefined();
    expect(gen.counterOf(a.subarray(0, 31))).toBeUndefined();
    expect(gen.counterOf(undefined)).toBeUndefined();
  });

  it('are encoded as msgpack bin (0xc4), in a header too', () => {
    const id = new MessageIdGenerator().next();
    expect(hex(encodeValue(id)).slice(0, 4)).toBe('c420');
    const event = encodeEvent({
      header: { message_id: id, v: PROTOCOL_VERSION },
      name: 'add',
      args: [1, 2],
    });
    expect(hex(event)).toContain(`aa${hex(Buffer.from('message_id'))}c420${hex(id)}`);
  });

  it.each([
    ['bin (zerorpc-python)', 'zerorpc-python-server.json', 'c420'],
    ['str (zerorpc-node)', 'zerorpc-node-server.json', 'd924'],
  ] as const)('response_to echoes a %s id with its msgpack type', (_label, file, prefix) => {
    // zerorpc-node's ids are the str ids of its replies; echo either kind back.
    const source = scenario(file, 'add').events.find((e) => e.event[1] === 'OK')!;
    const id = decodeEvent(payloadOf(source)).header.message_id;
    const reply = encodeEvent({
      header: { message_id: new MessageIdGenerator().next(), v: 3, response_to: id },
      name: 'OK',
      args: [3],
    });
    const idBytes = typeof id === 'string' ? Buffer.from(id) : id;
    expect(hex(reply)).toContain(`ab${hex(Buffer.from('response_to'))}${prefix}${hex(idBytes)}`);
    const echoed = decodeEvent(reply).header.response_to;
    expect(typeof echoed).toBe(typeof id);
    expect(echoed instanceof Uint8Array).toBe(id instanceof Uint8Array);
    expect(messageIdKey(echoed)).toBe(messageIdKey(id));
  });

  it('messageIdKey tells a bin id from a str id with the same bytes', () => {
    const text = 'b678ed78ff0841ed8e4c17cb78b094dd';
    const bin = new Uint8Array(Buffer.from(text));
    expect(messageIdKey(bin)).not.toBe(messageIdKey(text));
    expect(messageIdKey(text)).toBe(messageIdKey(`${text}`));
  });

  it('messageIdKey compares bins by bytes, wherever they sit in memory', () => {
    const frame = Buffer.from('xxabcdyy');
    expect(messageIdKey(frame.subarray(2, 6))).toBe(
      messageIdKey(new Uint8Array(Buffer.from('abcd'))),
    );
    expect(messageIdKey(frame.subarray(2, 6))).not.toBe(messageIdKey(frame.subarray(2, 7)));
    expect(messageIdKey(Buffer.from([0xff, 0x00]))).not.toBe(messageIdKey(Buffer.from([0xff])));
  });

  it('messageIdKey has no key for values that cannot be ids', () => {
    for (const value of [undefined, null, 42, 2n, {}, []])
      expect(messageIdKey(value)).toBeUndefined();
  });
});
