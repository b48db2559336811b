import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { eventOf } from '../src/codec.js';
import { readEvent, writeEvent } from '../src/event-fast-path.js';
import { decoderInternals, encoderInternals } from '../src/msgpack.js';
import {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  MAX_DEPTH,
  MAX_ENCODE_DEPTH,
  MessageIdGenerator,
  type ZEvent,
} from '../src/protocol.js';
import { prng } from './support/prng.js';
import { allRecorded, bytes, hex, payloadOf } from './support/vectors.js';

/*
 * encodeEvent and decodeEvent take a fast path for usual events and fall
 * back to the generic path for anything else. The generic path is the
 * reference: `encodeValue([header, name, args])` for encoding, and
 * `eventOf(decodeValue(bytes))` for decoding. Both paths must answer the same
 * bytes, the same values and the same errors, for any input.
 */

/** The generic decodeEvent: what decodeEvent answered before the fast path. */
const referenceDecode = (payload: Uint8Array): ZEvent => eventOf(decodeValue(payload));

type Outcome = { value: unknown } | { error: string };

/** A call's value, or its error's class and message, for comparing two paths. */
function outcomeOf(call: () => unknown): Outcome {
  try {
    return { value: call() };
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

/**
 * `toStrictEqual`, checked first by node's much quicker deep comparison
 * (which also tells a Buffer from a Uint8Array, and -0 from 0), plus the
 * order of the header keys, which task context exposes.
 */
function expectIdentical(actual: Outcome, expected: Outcome): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toStrictEqual(expected);
  if ('value' in actual && 'value' in expected) {
    const keys = (outcome: { value: unknown }) => Object.keys((outcome.value as ZEvent).header);
    expect(keys(actual)).toStrictEqual(keys(expected));
  }
}

/** Both paths decode `payload` to the same event, or fail with the same error. */
function expectSameDecoding(payload: Uint8Array): Outcome {
  const reference = outcomeOf(() => referenceDecode(payload));
  expectIdentical(
    outcomeOf(() => decodeEvent(payload)),
    reference,
  );
  return reference;
}

/** Both paths encode `event` to the same bytes, or fail with the same error. */
function expectSameEncoding(event: ZEvent): Outcome {
  const reference = outcomeOf(() => hex(encodeValue([event.header, event.name, event.args])));
  expect(outcomeOf(() => hex(encodeEvent(event)))).toStrictEqual(reference);
  return reference;
}

/** Draws random events of every shape the codec may meet, usual ones most often. */
function eventGenerator(seed: number) {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
  const ids = new MessageIdGenerator();
  const randomBytes = (length: number) => Uint8Array.from({ length }, () => random(256));
  const TEXTS = ['', 'a', 'OK', 'echo', '_zpc_hb', 'héllo ☃', '🎉', 'x'.repeat(31), 'y'.repeat(32)];
  const text = (): string =>
    random(3)
      ? pick(TEXTS)
      : String.fromCharCode(...Array.from({ length: random(300) }, () => 32 + random(95)));

  const number = (): number =>
    pick([
      0,
      -0,
      1,
      127,
      128,
      -32,
      -33,
      255,
      256,
      5000,
      65_535,
      65_536,
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 31) - 1,
      2 ** 53 - 1,
      2.5,
      -1e300,
      Number.NaN,
      random(1 << 30) - (1 << 29),
    ]);

  const scalar = (): unknown => {
    switch (random(9)) {
      case 0:
        return null;
      case 1:
        return random(2) === 0;
      case 2:
        return pick([2n ** 63n, -(2n ** 63n), 5n, 2n ** 64n - 1n]);
      case 3:
        return randomBytes(random(2) ? random(40) : 256 + random(300));
      case 4:
        return Buffer.from(randomBytes(random(40)));
      case 5:
        return new Date(random(2 ** 31) * 1000);
      case 6:
        return undefined;
      case 7:
        return text();
      default:
        return number();
    }
  };

  const value = (depth: number): unknown => {
    if (depth > 3 || random(3)) return scalar();
    if (random(2))
      return Array.from({ length: random(random(4) ? 5 : 20) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: random(5) }, () => [text(), value(depth + 1)]));
  };

  const id = (): unknown =>
    pick([
      () => ids.next(),
      () => ids.next(),
      () => Buffer.from(ids.next()),
      () => '6e8d8c2c-46ba-4bb9-a9d0-1c8d4fbb6ff4',
      () => randomBytes(random(300)),
      () => value(0),
    ])();

  const header = (): Record<string, unknown> => {
    const entries: [string, unknown][] = [];
    if (random(10)) entries.push(['message_id', id()]);
    if (random(10)) entries.push(['v', random(10) ? 3 : value(0)]);
    if (random(2)) entries.push(['response_to', id()]);
    if (random(2)) entries.push(['zrpc_hb', random(3) ? number() : value(0)]);
    const extra = random(4) ? 0 : random(random(4) ? 4 : 20);
    for (let i = 0; i < extra; i++) entries.push([text(), value(1)]);
    // Any order: zerorpc-node sends `v` first.
    for (let i = entries.length - 1; i > 0; i--) {
      const j = random(i + 1);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    return Object.fromEntries(entries);
  };

  return (): ZEvent => ({
    // Events as a JavaScript caller may pass them, headers without message_id too.
    header: header() as ZEvent['header'],
    name: random(8) ? pick(['OK', 'ERR', 'echo', 'add', '_zpc_hb', '_zpc_more']) : text(),
    args: random(4) ? Array.from({ length: random(4) }, () => value(1)) : value(0),
  });
}

describe('fast and generic paths agree on random events', () => {
  const ROUNDS = 5_000;

  it(`encode ${ROUNDS} events to the same bytes, and decode them to the same events`, () => {
    const nextEvent = eventGenerator(0xc0dec_2026);
    let fastEncodes = 0;
    let fastDecodes = 0;
    let valid = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const event = nextEvent();
      const reference = encodeValue([event.header, event.name, event.args]);
      const fast = writeEvent(encoderInternals, event.header, event.name, event.args);
      if (fast !== undefined) {
        fastEncodes++;
        expect(hex(fast)).toBe(hex(reference));
      }
      expect(hex(encodeEvent(event))).toBe(hex(reference));

      // A plain copy, a Buffer, and a view into a larger buffer: bins are
      // views of whatever came in, so each must decode like the reference.
      const framed = Buffer.concat([Buffer.from('xyz'), reference, Buffer.from('!')]);
      for (const payload of [reference, Buffer.from(reference), framed.subarray(3, -1)]) {
        const outcome = expectSameDecoding(payload);
        const read = readEvent(decoderInternals, payload);
        if (read !== undefined) {
          fastDecodes++;
          expectIdentical({ value: read }, outcome);
        }
        if ('value' in outcome) valid++;
      }
    }
    // Most events take the fast paths, and most are valid events.
    expect(fastEncodes).toBeGreaterThan(ROUNDS * 0.7);
    expect(fastDecodes).toBeGreaterThan(ROUNDS * 3 * 0.6);
    expect(valid).toBeGreaterThan(ROUNDS * 3 * 0.6);
  });

  it('agree on every error of mutated random events', () => {
    const nextEvent = eventGenerator(0xbad_c0de);
    const random = prng(0x5eed);
    let errors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const payload = Buffer.from(encodeValue(Object.values(nextEvent())));
      const mutated =
        random(2) === 0
          ? payload.subarray(0, random(payload.length))
          : (() => {
              const copy = Buffer.from(payload);
              copy[random(copy.length)] = random(2) ? random(256) : 0xc1;
              return copy;
            })();
      if ('error' in expectSameDecoding(new Uint8Array(mutated))) errors++;
    }
    expect(errors).toBeGreaterThan(ROUNDS / 2);
  });
});

describe('encodeEvent', () => {
  const ids = new MessageIdGenerator();
  const base = () => ({ message_id: ids.next(), v: 3 });

  it.each([
    ['a usual request', { header: base(), name: 'add', args: [1, 2] }],
    ['a usual reply', { header: { ...base(), response_to: ids.next() }, name: 'OK', args: ['x'] }],
    [
      'v first, as zerorpc-node',
      { header: { v: 3, message_id: 'a-str-id', response_to: 'b' }, name: 'OK', args: [] },
    ],
    [
      'task context keys',
      { header: { trace: 'abc', ...base(), span: { id: 7 } }, name: 'f', args: [] },
    ],
    ['an empty header', { header: {}, name: 'x', args: null }],
    [
      '16 header keys (map16)',
      {
        header: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
        name: 'x',
        args: [],
      },
    ],
    [
      'a null-prototype header',
      { header: Object.assign(Object.create(null), base()), name: 'x', args: [] },
    ],
    ['a Date as header', { header: new Date(0), name: 'x', args: [] }],
    ['an array as header', { header: [1, 2], name: 'x', args: [] }],
    ['a non-string name', { header: base(), name: 42, args: [] }],
    [
      'a 256-byte bin id',
      { header: { message_id: new Uint8Array(256).fill(7), v: 3 }, name: 'x', args: [] },
    ],
    [
      'an undefined header value',
      { header: { ...base(), response_to: undefined }, name: 'x', args: [] },
    ],
    ['a large event', { header: base(), name: 'x', args: ['z'.repeat(100_000)] }],
  ] as [string, ZEvent][])('%s: the same bytes as the generic path', (_label, event) => {
    expect('error' in expectSameEncoding(event)).toBe(false);
  });

  it.each([
    ['a function in args', [() => 1]],
    ['a symbol in args', [Symbol('s')]],
    ['a bigint beyond 64 bits in args', [2n ** 64n]],
    [
      'objects nested too deep',
      [JSON.parse(`${'['.repeat(MAX_ENCODE_DEPTH + 20)}${']'.repeat(MAX_ENCODE_DEPTH + 20)}`)],
    ],
  ])('%s: the same error as the generic path, and the encoder stays usable', (_label, args) => {
    const outcome = expectSameEncoding({ header: base(), name: 'x', args });
    expect('error' in outcome).toBe(true);
    const header = { message_id: ids.next(), v: 3, extra: 2n ** 70n };
    expect('error' in expectSameEncoding({ header, name: 'x', args: [] })).toBe(true);
    expectSameEncoding({ header: base(), name: 'after', args: [1] });
  });

  // The encoder refuses values deeper than MAX_ENCODE_DEPTH, the event array
  // counting 1, the header and the args 2, a header value 3.
  const nestedArrays = (depth: number): unknown => (depth === 0 ? null : [nestedArrays(depth - 1)]);

  const D = MAX_ENCODE_DEPTH;
  it.each([D - 4, D - 3, D - 2])(
    'a header value of %i nested arrays: the same outcome',
    (depth) => {
      const header = { ...base(), trace: nestedArrays(depth) };
      const outcome = expectSameEncoding({ header, name: 'x', args: [] });
      expect('error' in outcome).toBe(depth > D - 3);
    },
  );

  it.each([D - 3, D - 2, D - 1])('args of %i nested arrays: the same outcome', (depth) => {
    const outcome = expectSameEncoding({ header: base(), name: 'x', args: nestedArrays(depth) });
    expect('error' in outcome).toBe(depth > D - 2);
  });

  it('events that end right at the end of the encoder buffer, or just past it', () => {
    // The encoder grows its buffer only when a write needs it: events a byte
    // longer each cross its end, the last write first (here the args array
    // header), until one makes it grow. The generic path, which reserves
    // room differently, encodes them only after.
    const room = encoderInternals.bytes.length;
    const encoded: [ZEvent, Uint8Array][] = [];
    for (let size = room - 80; encoderInternals.bytes.length === room; size++) {
      const event: ZEvent = { header: { trace: 'x'.repeat(size), ...base() }, name: 'x', args: [] };
      encoded.push([event, encodeEvent(event)]);
    }
    expect(encoded.length).toBeLessThan(80);
    for (const [event, payload] of encoded) {
      expect(hex(payload)).toBe(hex(encodeValue([event.header, event.name, event.args])));
    }
  });

  it('an encode from inside an encode (a getter) gets its own encoder', () => {
    const inner = { header: base(), name: 'inner', args: [2n ** 63n] };
    const args = {
      get nested() {
        return hex(encodeEvent(inner));
      },
    };
    expectSameEncoding({ header: base(), name: 'outer', args });
    expect(hex(encodeEvent(inner))).toBe(hex(encodeValue([inner.header, inner.name, inner.args])));
  });

  it('answers plain Uint8Arrays that later encodes never overwrite', () => {
    const events = Array.from({ length: 500 }, (_, i) => ({
      header: base(),
      name: 'echo',
      args: ['p'.repeat(i % 3 === 0 ? 3000 : i)],
    }));
    const encoded = events.map((event) => encodeEvent(event));
    for (const [i, payload] of encoded.entries()) {
      expect(Object.getPrototypeOf(payload)).toBe(Uint8Array.prototype);
      const event = events[i]!;
      expect(hex(payload)).toBe(hex(encodeValue([event.header, event.name, event.args])));
    }
  });
});

describe('decodeEvent', () => {
  const ids = new MessageIdGenerator();
  const HEADER = { message_id: ids.next(), v: 3 };
  /** A msgpack array header followed by already encoded items. */
  const arrayOf = (...items: Uint8Array[]) =>
    new Uint8Array(Buffer.concat([Buffer.from([0x90 | items.length]), ...items]));
  const map16Of = (entries: [string, unknown][]) =>
    Buffer.concat([
      Buffer.from([0xde, 0, entries.length]),
      ...entries.flatMap(([key, value]) => [encodeValue(key), encodeValue(value)]),
    ]);

  it('every recorded frame', () => {
    for (const { event } of allRecorded()) {
      expect('value' in expectSameDecoding(payloadOf(event))).toBe(true);
      expectSameDecoding(new Uint8Array(payloadOf(event)));
    }
  });

  const HEADER_BYTES = encodeValue(HEADER);
  const eventBytes = (header: Uint8Array, name: Uint8Array, args: Uint8Array = encodeValue([])) =>
    arrayOf(header, name, args);

  it.each([
    ['task context keys', encodeValue([{ a: 1, ...HEADER, b: { c: [1] } }, 'f', []])],
    [
      'v first, str ids',
      encodeValue([{ v: 3, message_id: 'id-1', response_to: 'id-0' }, 'OK', [1]]),
    ],
    [
      'an integer key',
      eventBytes(
        map16Of([
          ['message_id', 'x'],
          [1 as unknown as string, 'one'],
        ]),
        encodeValue('f'),
      ),
    ],
    [
      'a duplicate key',
      eventBytes(
        map16Of([
          ['message_id', 'first'],
          ['v', 3],
          ['message_id', 'second'],
        ]),
        encodeValue('f'),
      ),
    ],
    ['a long name (str8)', encodeValue([HEADER, 'n'.repeat(40), []])],
    ['a non-ASCII name', encodeValue([HEADER, 'héllo', []])],
    [
      'a 300-byte bin id (bin16)',
      encodeValue([{ message_id: new Uint8Array(300), v: 3 }, 'f', []]),
    ],
    ['v as a 64-bit integer', encodeValue([{ ...HEADER, v: 2n ** 63n }, 'f', []])],
    ['a large event', encodeValue([HEADER, 'f', ['z'.repeat(5000)]])],
  ])('%s decodes as the generic path does', (_label, payload) => {
    expect('value' in expectSameDecoding(payload)).toBe(true);
  });

  it.each([
    ['an empty header', [{}, 'f', []]],
    ['a numeric message_id', [{ message_id: 5, v: 3 }, 'f', []]],
    ['a numeric response_to', [{ ...HEADER, response_to: 5 }, 'f', []]],
    ['a header that is an array', [[1], 'f', []]],
    ['a name that is bin', [HEADER, new Uint8Array(2), []]],
    ['4 items', [HEADER, 'f', [], 1]],
  ])('%s fails as the generic path does', (_label, event) => {
    expect('error' in expectSameDecoding(encodeValue(event))).toBe(true);
  });

  it.each([
    [
      'a map16 header',
      map16Of([
        ['message_id', 'x'],
        ['v', 3],
      ]),
      true,
    ],
    [
      'a map16 header of 17 keys',
      map16Of(Array.from({ length: 17 }, (_, i) => [i ? `k${i}` : 'message_id', `${i}`])),
      true,
    ],
    [
      'a map16 header claiming more keys than it has',
      Buffer.concat([Buffer.from([0xde, 0x7f, 0xff]), encodeValue('message_id'), encodeValue('x')]),
      false,
    ],
    [
      '__proto__ in a map16 header',
      map16Of([
        ['message_id', 'x'],
        ['__proto__', { polluted: 1 }],
      ]),
      true,
    ],
  ] as const)('%s', (_label, header, decodes) => {
    expect('value' in expectSameDecoding(eventBytes(header, encodeValue('f')))).toBe(decodes);
  });

  it.each([
    [
      'invalid UTF-8 in a task context key',
      eventBytes(bytes(`82${hex(encodeValue('message_id'))}a178a1ff01`), encodeValue('f')),
    ],
    ['invalid UTF-8 in the name', eventBytes(HEADER_BYTES, bytes('a2c328'))],
    ['an unknown type byte in args', eventBytes(HEADER_BYTES, encodeValue('f'), bytes('91c1'))],
    ['a byte after the event', new Uint8Array([...encodeValue([HEADER, 'f', []]), 0])],
  ])('%s fails as the generic path does', (_label, payload) => {
    expect('error' in expectSameDecoding(payload)).toBe(true);
  });

  describe('the depth limit counts the event array and the header map', () => {
    const nested = (depth: number) =>
      new Uint8Array([...Array.from({ length: depth }, () => 0x91), 0xc0]);

    it.each([MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])(
      'args nested %i deep',
      (depth) => {
        const outcome = expectSameDecoding(
          eventBytes(HEADER_BYTES, encodeValue('f'), nested(depth)),
        );
        expect('value' in outcome).toBe(depth < MAX_DEPTH);
      },
    );

    it.each([MAX_DEPTH - 3, MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH])(
      'a header value nested %i deep',
      (depth) => {
        const header = Buffer.concat([
          Buffer.from([0x82]),
          encodeValue('message_id'),
          encodeValue('x'),
          encodeValue('trace'),
          nested(depth),
        ]);
        const outcome = expectSameDecoding(eventBytes(header, encodeValue('f')));
        expect('value' in outcome).toBe(depth < MAX_DEPTH - 1);
      },
    );
  });

  it('a failed decode leaves nothing behind for the next one', () => {
    const good = encodeValue([HEADER, 'f', [{ a: [1, 2.5, 2n ** 63n] }]]);
    for (let length = 0; length < good.length; length++) {
      expectSameDecoding(good.subarray(0, length));
      // The fast path itself, not the generic one behind it.
      expect(readEvent(decoderInternals, good)).toStrictEqual(referenceDecode(good));
    }
  });

  it('values decoded earlier do not change when later inputs are decoded', () => {
    const payloads = Array.from({ length: 50 }, (_, i) =>
      encodeValue([
        { message_id: ids.next(), v: 3 },
        'f',
        [i, -i * 1e6, `s${i}`, new Uint8Array([i])],
      ]),
    );
    const decoded = payloads.map((payload) => decodeEvent(payload));
    for (const [i, payload] of payloads.entries()) {
      expect(decoded[i]).toStrictEqual(referenceDecode(payload));
    }
  });

  it('input that is not a Uint8Array goes the generic way', () => {
    const payload = encodeValue([HEADER, 'f', [1]]);
    const buffer = payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length);
    expect(decodeEvent(buffer as unknown as Uint8Array)).toStrictEqual(referenceDecode(payload));
  });
});
