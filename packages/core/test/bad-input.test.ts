import { describe, expect, it } from 'vitest';
import { ProtocolError, taskContextOf } from '../src/index.js';
import {
  BATCH_MARKER,
  batchStart,
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  isBatch,
  MAX_DEPTH,
  openEnvelope,
  requestHeader,
} from '../src/protocol.js';
import { prng } from './support/prng.js';
import { allRecorded, bytes, hex, payloadOf } from './support/vectors.js';

const HEADER = { message_id: 'id-1', v: 3 };
const payloads = allRecorded().map((r) => new Uint8Array(payloadOf(r.event)));

/** The ProtocolError that decoding `payload` must throw. */
function protocolErrorOf(payload: Uint8Array): ProtocolError {
  try {
    decodeEvent(payload);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error(`decoded without error: ${hex(payload)}`);
}

/** A msgpack array header followed by already encoded items. */
const arrayOf = (...items: Uint8Array[]) =>
  Buffer.concat([Buffer.from([0x90 | items.length]), ...items]);

/** An event whose `marker` str is replaced by the same number of `replacement` bytes. */
function withBytesFor(marker: string, replacement: string, event: unknown[]): Uint8Array {
  const encoded = hex(encodeValue(event));
  const target = hex(Buffer.from(marker));
  expect(replacement.length).toBe(target.length);
  expect(encoded.split(target)).toHaveLength(2);
  return bytes(encoded.replace(target, replacement));
}

describe('malformed events are ProtocolErrors', () => {
  it('every truncation of every recorded frame', () => {
    let cases = 0;
    for (const payload of payloads) {
      for (let length = 0; length < payload.length; length++) {
        protocolErrorOf(payload.subarray(0, length));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(50_000);
  });

  it.each([
    ['a map', encodeValue({ a: 1 })],
    ['a string', encodeValue('add')],
    ['an integer', encodeValue(3)],
    ['nil', encodeValue(null)],
    ['bin', encodeValue(new Uint8Array([0x93]))],
  ])('not an array: %s', (_label, payload) => {
    expect(protocolErrorOf(payload).message).toMatch(/not an array/);
  });

  it.each([
    [0, []],
    [2, [HEADER, 'add']],
    [4, [HEADER, 'add', [1, 2], 'extra']],
  ])('not 3 items: %d', (count, event) => {
    expect(protocolErrorOf(encodeValue(event)).message).toMatch(`${count} items, expected 3`);
  });

  it.each([
    ['an array', [['message_id', 'x']]],
    ['a string', 'header'],
    ['nil', null],
    ['bin', new Uint8Array([1, 2])],
    ['an integer', 7],
  ])('header not a map: %s', (_label, header) => {
    expect(protocolErrorOf(encodeValue([header, 'add', []])).message).toMatch(
      /header is not a map/,
    );
  });

  it.each([
    ['an integer', 1],
    ['nil', null],
    ['bin', new Uint8Array(Buffer.from('add'))],
    ['an array', ['add']],
  ])('name not a string: %s', (_label, name) => {
    expect(protocolErrorOf(encodeValue([HEADER, name, []])).message).toMatch(
      /name is not a string/,
    );
  });

  it.each([
    ['missing', { v: 3 }],
    ['an integer', { message_id: 12, v: 3 }],
    ['nil', { message_id: null, v: 3 }],
  ])('message_id %s', (_label, header) => {
    expect(protocolErrorOf(encodeValue([header, 'add', []])).message).toMatch(/message_id/);
  });

  it('response_to that is neither bin nor str', () => {
    const event = [{ ...HEADER, response_to: 5 }, 'OK', [1]];
    expect(protocolErrorOf(encodeValue(event)).message).toMatch(/response_to/);
  });

  describe('non-UTF-8 text', () => {
    const INVALID = {
      'a lone continuation byte': '80',
      'a bad continuation': 'c328',
      'an overlong encoding': 'c0af',
      'a surrogate': 'eda080',
      'a truncated sequence': 'e282',
      'an invalid byte': 'ff',
    };
    const cases = Object.entries(INVALID).flatMap(([what, invalid]) => {
      const marker = 'Q'.repeat(invalid.length / 2);
      const long = `${'a'.repeat(40)}${marker}`; // beyond the decoder's cached short keys
      return [
        [`name, ${what}`, withBytesFor(marker, invalid, [HEADER, marker, []])],
        [`args, ${what}`, withBytesFor(marker, invalid, [HEADER, 'echo', [1, [marker]]])],
        [
          `a header key, ${what}`,
          withBytesFor(marker, invalid, [{ ...HEADER, [marker]: 1 }, 'x', []]),
        ],
        [
          `a long header key, ${what}`,
          withBytesFor(long.slice(40), invalid, [{ ...HEADER, [long]: 1 }, 'x', []]),
        ],
        [`a str id, ${what}`, withBytesFor(marker, invalid, [{ message_id: marker }, 'x', []])],
      ] as const;
    });

    it.each(cases)('in %s', (_label, payload) => {
      expect(protocolErrorOf(payload).message).toMatch(/not valid UTF-8/);
    });

    it('valid multi-byte text still decodes', () => {
      const event = { header: HEADER, name: 'héllo ☃', args: ['wörld 🎉', { ключ: 'значение' }] };
      expect(decodeEvent(encodeEvent(event))).toStrictEqual(event);
    });
  });

  describe('absurd declared lengths fail fast, without allocating them', () => {
    const length32 = (n: number) => {
      const field = Buffer.alloc(4);
      field.writeUInt32BE(n);
      return field;
    };
    const kinds = { array32: 0xdd, map32: 0xdf, str32: 0xdb, bin32: 0xc6, ext32: 0xc9 };
    const cases = Object.entries(kinds).flatMap(([kind, tag]) =>
      [0xffffffff, 0x7fffffff, 0x10000000].map((n) => {
        const claim = Buffer.concat([Buffer.from([tag]), length32(n), Buffer.from('\x01abc')]);
        return [`${kind} claiming ${n} bytes`, claim] as const;
      }),
    );

    const memory = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external + m.arrayBuffers;
    };

    it.each(cases)('%s, alone and as an argument', (_label, claim) => {
      const before = memory();
      for (let i = 0; i < 20; i++) {
        expect(() => decodeValue(claim)).toThrow(ProtocolError);
        protocolErrorOf(arrayOf(encodeValue(HEADER), encodeValue('echo'), arrayOf(claim)));
      }
      expect(memory() - before).toBeLessThan(32 * 1024 * 1024);
    });

    // Each claim alone is small, but a decoder that believed them would
    // preallocate every level: 250 nested claims would cost 130-200 MB.
    it.each([
      ['array16 of 65535', [0xdc, 0xff, 0xff]],
      ['array32 of 100000', [0xdd, 0x00, 0x01, 0x86, 0xa0]],
    ])('250 nested claims of an %s each', (_label, claim) => {
      const payload = new Uint8Array(Array.from({ length: 250 }, () => claim).flat());
      const before = memory();
      expect(() => decodeValue(payload)).toThrow(/declared length/);
      expect(memory() - before).toBeLessThan(32 * 1024 * 1024);
    });
  });

  describe('deep nesting', () => {
    const nested = (depth: number, open: number[]) =>
      new Uint8Array([...Array.from({ length: depth }, () => open).flat(), 0xc0]);
    const ARRAY = [0x91];
    const MAP = [0x81, 0xa1, 0x6b]; // {"k": ...}

    it.each([
      ['10,000 nested arrays', nested(10_000, ARRAY)],
      ['10,000 nested maps', nested(10_000, MAP)],
      ['10,000 alternating levels', nested(5_000, [...ARRAY, ...MAP])],
    ])('%s: a ProtocolError, not a stack overflow', (_label, value) => {
      const inEvent = arrayOf(encodeValue(HEADER), encodeValue('echo'), value);
      for (const payload of [value, inEvent]) {
        const error = protocolErrorOf(payload);
        expect(error.message).toMatch(`nesting deeper than ${MAX_DEPTH}`);
        expect(error.cause).not.toBeInstanceOf(RangeError);
      }
    });

    it(`allows exactly ${MAX_DEPTH} levels`, () => {
      expect(() => decodeValue(nested(MAX_DEPTH, ARRAY))).not.toThrow();
      expect(() => decodeValue(nested(MAX_DEPTH + 1, ARRAY))).toThrow(ProtocolError);
    });
  });

  describe('prototype keys', () => {
    // JSON.parse makes `__proto__` an own key (an object literal would set the prototype).
    const PROTO = JSON.parse('{"__proto__": {"polluted": 1}}');
    /** `value` inside `depth` levels of one-key maps and one-item arrays, in turn. */
    const nestedIn = (depth: number, value: unknown): unknown =>
      depth === 0 ? value : nestedIn(depth - 1, depth % 2 ? [value] : { level: value });
    /** The innermost value that is neither a one-item array nor a plain one-key object. */
    const innermost = (value: unknown): unknown => {
      if (Array.isArray(value) && value.length === 1) return innermost(value[0]);
      if (value instanceof Map || value === null || typeof value !== 'object') return value;
      const keys = Object.keys(value);
      return keys.length === 1 ? innermost((value as Record<string, unknown>)[keys[0]!]) : value;
    };
    const CONSTRUCTOR = { constructor: { prototype: { polluted: 1 } } };
    const untouched = () => {
      expect({} as object).not.toHaveProperty('polluted');
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
      expect({}.constructor).toBe(Object);
      expect(Object.prototype.constructor).toBe(Object);
    };

    it.each([
      ['args', [HEADER, 'echo', [PROTO]]],
      ['a nested map', [HEADER, 'echo', [{ a: [{ b: PROTO }] }]]],
      ['a map 40 levels down', [HEADER, 'echo', [nestedIn(40, PROTO)]]],
    ])(
      '__proto__ in %s decodes into a Map holding it as a key, prototypes untouched',
      (_l, event) => {
        const payload = encodeValue(event);
        expect(hex(payload)).toContain(hex(Buffer.from('__proto__')));
        const decoded = decodeEvent(payload);
        const holder = innermost(decoded.args) as Map<string, unknown>;
        expect(holder).toBeInstanceOf(Map);
        expect([...holder]).toStrictEqual([['__proto__', { polluted: 1 }]]);
        // What holds the Map stays a plain object, and the value too.
        expect(Object.getPrototypeOf(holder.get('__proto__'))).toBe(Object.prototype);
        // Sent back, it is the same map: the key, as a str, with its value.
        const again = encodeEvent(decoded);
        expect(hex(again)).toContain(hex(encodeValue('__proto__')));
        expect(innermost(decodeEvent(again).args)).toStrictEqual(holder);
        untouched();
      },
    );

    it('__proto__ in the header is an own key of the header and of the task context', () => {
      const event = decodeEvent(encodeValue([{ ...HEADER, ...PROTO, trace: 't' }, 'echo', []]));
      for (const record of [event.header, taskContextOf(event.header)]) {
        expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(record, '__proto__')?.value).toEqual({
          polluted: 1,
        });
        expect(record).not.toHaveProperty('polluted');
      }
      const context = taskContextOf(event.header);
      expect(Object.keys(context).sort()).toEqual(['__proto__', 'trace']);
      // Carried onward (a call made from inside a handler), it is sent as it came.
      const onward = requestHeader('id-2', context);
      expect(Object.getPrototypeOf(onward)).toBe(Object.prototype);
      expect(Object.keys(onward).sort()).toEqual(['__proto__', 'message_id', 'trace', 'v']);
      const sent = decodeEvent(encodeEvent({ header: onward, name: 'echo', args: [] }));
      expect(Object.getOwnPropertyDescriptor(sent.header, '__proto__')?.value).toEqual({
        polluted: 1,
      });
      untouched();
    });

    it('a __proto__ text as a value, or the key as the top value, is plain text', () => {
      expect(decodeValue(encodeValue({ a: '__proto__' }))).toStrictEqual({ a: '__proto__' });
      expect(decodeValue(encodeValue(['__proto__']))).toStrictEqual(['__proto__']);
      expect(decodeValue(encodeValue('__proto__'))).toBe('__proto__');
    });

    it('constructor is an ordinary key, in args and in the header', () => {
      const event = decodeEvent(
        encodeValue([{ ...HEADER, constructor: 'tracing' }, 'echo', [CONSTRUCTOR]]),
      );
      // toStrictEqual would compare the two `constructor` values as classes.
      const value = (event.args as object[])[0]!;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(value, 'constructor')?.value).toEqual(
        CONSTRUCTOR.constructor,
      );
      expect(taskContextOf(event.header)).toStrictEqual({ constructor: 'tracing' });
      untouched();
    });
  });
});

describe('garbage envelopes', () => {
  it('no frames, or an empty payload, open to nothing', () => {
    expect(openEnvelope([])).toBeUndefined();
    expect(openEnvelope([Buffer.alloc(0)])).toBeUndefined();
    expect(openEnvelope([Buffer.from('peer'), Buffer.alloc(0), Buffer.alloc(0)])).toBeUndefined();
  });

  it('identity frames before the delimiter, payload last', () => {
    const [id, payload] = [Buffer.from('peer'), Buffer.from([0x93])];
    expect(openEnvelope([payload])).toEqual({ identity: [], payload });
    expect(openEnvelope([id, payload])).toEqual({ identity: [id], payload });
    expect(openEnvelope([id, Buffer.alloc(0), payload])).toEqual({ identity: [id], payload });
  });

  it('a batch of events between zrpc peers is told from the reference envelope', () => {
    const [id, hop, p1, p2] = ['peer', 'hop', 'a', 'b'].map((text) => Buffer.from(text));
    const empty = Buffer.alloc(0);
    // A client's read: several frames and no empty one.
    expect(isBatch([p1!, p2!])).toBe(true);
    expect(isBatch([p1!])).toBe(false);
    expect(isBatch([empty, p1!])).toBe(false);
    expect(isBatch([hop!, empty, p1!])).toBe(false);
    // A server's read: the marker after the routing frames, and at least one payload.
    expect(batchStart([id!, BATCH_MARKER, p1!, p2!])).toBe(2);
    expect(batchStart([id!, hop!, BATCH_MARKER, p1!])).toBe(3);
    expect(batchStart([id!, p1!])).toBe(-1);
    expect(batchStart([id!, BATCH_MARKER])).toBe(-1);
    expect(batchStart([id!, empty, BATCH_MARKER, p1!])).toBe(-1);
    expect(batchStart([id!, Buffer.from('zrpc-batcH'), p1!])).toBe(-1);
  });
});

describe('mutated recorded frames', () => {
  const random = prng(0x5eed_2026);
  const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
  // Bytes that start containers, long strings and 64-bit numbers, and edge values.
  const TAGS = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xc0, 0xc1, 0xc4, 0xc6, 0xc9, 0xcb];
  const TAGS2 = [0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff];
  const INTERESTING = [...TAGS, ...TAGS2];

  type Mutation = (frame: Buffer) => Buffer;
  const MUTATIONS: Record<string, Mutation> = {
    bitFlip: (frame) => {
      const out = Buffer.from(frame);
      for (let flips = 1 + random(3); flips > 0; flips--) {
        const i = random(out.length);
        out[i]! ^= 1 << random(8);
      }
      return out;
    },
    byteChange: (frame) => {
      const out = Buffer.from(frame);
      out[random(out.length)] = random(2) ? pick(INTERESTING) : random(256);
      return out;
    },
    truncation: (frame) => frame.subarray(0, random(frame.length)),
    splice: (frame) => {
      const other = Buffer.from(pick(payloads));
      return Buffer.concat([
        frame.subarray(0, random(frame.length)),
        other.subarray(random(other.length)),
      ]);
    },
    duplication: (frame) => {
      const from = random(frame.length);
      const to = from + 1 + random(frame.length - from);
      const at = random(frame.length + 1);
      const slice = frame.subarray(from, to);
      return Buffer.concat([frame.subarray(0, at), slice, frame.subarray(at)]);
    },
    randomLength: (frame) => {
      // Overwrite a spot with a length-bearing header claiming a random length.
      const tag = pick([0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]);
      const sizeBytes = [0xc4, 0xd9].includes(tag)
        ? 1
        : [0xc5, 0xda, 0xdc, 0xde].includes(tag)
          ? 2
          : 4;
      const claim = Buffer.alloc(1 + sizeBytes);
      claim[0] = tag;
      for (let i = 1; i <= sizeBytes; i++) claim[i] = random(2) ? random(256) : random(4);
      const at = random(frame.length);
      return Buffer.concat([frame.subarray(0, at), claim, frame.subarray(at + claim.length)]);
    },
    randomBytes: (frame) => {
      const noise = Buffer.from(Array.from({ length: random(16) }, () => random(256)));
      const at = random(frame.length + 1);
      return Buffer.concat([frame.subarray(0, at), noise, frame.subarray(at)]);
    },
  };
  const names = Object.keys(MUTATIONS);

  it('each yields a valid event or a ProtocolError, nothing else', () => {
    const outcomes = { value: 0, protocolError: 0 };
    const perMutation = Object.fromEntries(names.map((n) => [n, { value: 0, protocolError: 0 }]));
    for (let round = 0; round < 20_000; round++) {
      let frame: Buffer = Buffer.from(pick(payloads));
      const applied = Array.from({ length: 1 + random(2) }, () => pick(names));
      for (const name of applied) frame = MUTATIONS[name]!(frame);
      const tally = perMutation[applied[0]!]!;
      try {
        const event = decodeEvent(frame);
        expect(typeof event.name).toBe('string');
        expect(typeof event.header).toBe('object');
        expect(decodeEvent(encodeEvent(event))).toStrictEqual(decodeEvent(new Uint8Array(frame)));
        outcomes.value++;
        tally.value++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          throw new Error(`round ${round} (${applied}) threw ${err} for ${frame.toString('hex')}`);
        }
        outcomes.protocolError++;
        tally.protocolError++;
      }
    }
    expect(outcomes.value + outcomes.protocolError).toBe(20_000);
    expect(outcomes.value).toBeGreaterThan(0);
    expect(outcomes.protocolError).toBeGreaterThan(0);
    for (const name of names) {
      expect(perMutation[name]!.value + perMutation[name]!.protocolError).toBeGreaterThan(1000);
    }
  });
});
