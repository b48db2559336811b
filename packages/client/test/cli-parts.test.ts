import { describe, expect, test } from 'vitest';
import {
  duration,
  HELP,
  parseArg,
  parseCommand,
  readEndpoint,
  UsageError,
} from '../src/cli/args.js';
import { bytesLiteral, pretty, toJson } from '../src/cli/format.js';

// The CLI's parts, in process (cli.test.ts runs the built bin).

describe('parseCommand', () => {
  test('endpoint, method and arguments; options anywhere', () => {
    expect(parseCommand(['127.0.0.1:4242', 'add', '1', '-2', '--json', '--timeout=1.5'])).toEqual({
      endpoint: 'tcp://127.0.0.1:4242',
      ipv6: false,
      method: 'add',
      args: [1, -2],
      json: true,
      timeoutMs: 1500,
      connectTimeoutMs: 2000,
      heartbeatMs: 5000,
    });
    expect(parseCommand(['--heartbeat', '0.5', 'ipc:///tmp/x', '--connect-timeout', '9'])).toEqual({
      endpoint: 'ipc:///tmp/x',
      ipv6: false,
      args: [],
      json: false,
      timeoutMs: 30_000,
      connectTimeoutMs: 9000,
      heartbeatMs: 500,
    });
    expect(parseCommand(['tcp://h:1', 'echo', '--', '--json'])).toMatchObject({
      args: ['--json'],
      json: false,
    });
    expect(parseCommand(['x', '-h'])).toBe(HELP);
  });

  test.each([
    [[], 'an endpoint is required'],
    [['--bogus', 'tcp://h:1'], 'unknown option --bogus'],
    [['-x', 'tcp://h:1'], 'unknown option -x'],
    [
      ['--timeout', 'soon', 'tcp://h:1'],
      '--timeout takes a positive number of seconds (or 500ms, 1.5s), not "soon"',
    ],
    [
      ['--timeout=0', 'tcp://h:1'],
      '--timeout takes a positive number of seconds (or 500ms, 1.5s), not "0"',
    ],
    [['tcp://h:1', '--heartbeat'], '--heartbeat needs a value'],
    [['localhost'], '"localhost" is not a valid port number or address:port pair.'],
    [['[1:2:3]:80'], '"1:2:3" is not a valid IPv6 address.'],
    [
      ['--connect-timeout=-1', '4242'],
      '--connect-timeout takes a positive number of seconds (or 500ms, 1.5s), not "-1"',
    ],
  ])('bad usage %j', (argv, reason) => {
    expect(() => parseCommand(argv)).toThrow(new UsageError(reason));
  });

  test('endpoints: the forms zrpc-server takes (a ZeroMQ endpoint as is, host:port, a bare port)', () => {
    expect(readEndpoint('tcp://127.0.0.1:1')).toEqual({
      endpoint: 'tcp://127.0.0.1:1',
      ipv6: false,
    });
    expect(readEndpoint('localhost:4242')).toEqual({
      endpoint: 'tcp://localhost:4242',
      ipv6: false,
    });
    expect(readEndpoint('[::1]:4242')).toEqual({ endpoint: 'tcp://[::1]:4242', ipv6: true });
    expect(readEndpoint('4242')).toEqual({ endpoint: 'tcp://127.0.0.1:4242', ipv6: false });
    expect(readEndpoint('0:4242')).toEqual({ endpoint: 'tcp://0.0.0.0:4242', ipv6: false });
    expect(() => readEndpoint('70000')).toThrow(
      new UsageError('"70000" is not a valid port number.'),
    );
  });
});

describe('zrpc ping', () => {
  test('its endpoint, and a timeout of 1 s unless given; options anywhere', () => {
    expect(parseCommand(['ping', '4242'])).toEqual({
      ping: true,
      endpoint: 'tcp://127.0.0.1:4242',
      ipv6: false,
      json: false,
      timeoutMs: 1000,
    });
    expect(parseCommand(['--timeout', '250ms', 'ping', '--json', '[::1]:1'])).toEqual({
      ping: true,
      endpoint: 'tcp://[::1]:1',
      ipv6: true,
      json: true,
      timeoutMs: 250,
    });
    // A method called ping is still a call: the command is the first word only.
    expect(parseCommand(['4242', 'ping'])).toMatchObject({ method: 'ping', timeoutMs: 30_000 });
  });

  test.each([
    [['ping'], 'zrpc ping needs an endpoint'],
    [['ping', '4242', 'add', '1'], 'zrpc ping takes one endpoint and no method'],
    [
      ['ping', '4242', '--connect-timeout=1'],
      'zrpc ping takes --timeout, which bounds connecting too',
    ],
    [['ping', 'localhost'], '"localhost" is not a valid port number or address:port pair.'],
  ])('bad usage %j', (argv, reason) => {
    expect(() => parseCommand(argv)).toThrow(new UsageError(reason));
  });
});

test('durations: seconds, or with a unit', () => {
  expect(duration('--timeout', '1')).toBe(1000);
  expect(duration('--timeout', '1.5')).toBe(1500);
  expect(duration('--timeout', '.5s')).toBe(500);
  expect(duration('--timeout', '1s')).toBe(1000);
  expect(duration('--timeout', '500ms')).toBe(500);
  expect(duration('--timeout', ' 2 s ')).toBe(2000);
  for (const bad of ['', 's', '0', '0ms', '-1', '1m', '1e3', 'Infinity', '1s1', '9999999999']) {
    expect(() => duration('--timeout', bad)).toThrow(UsageError);
  }
});

test('arguments: JSON when valid (long integers exact), else the text', () => {
  expect(parseArg('1')).toBe(1);
  expect(parseArg('2.5')).toBe(2.5);
  expect(parseArg('"1"')).toBe('1');
  expect(parseArg('abc')).toBe('abc');
  expect(parseArg('null')).toBeNull();
  expect(parseArg('{"a": [true, null]}')).toEqual({ a: [true, null] });
  expect(parseArg('9223372036854775808')).toBe(2n ** 63n);
  expect(parseArg('-9223372036854775808')).toBe(-(2n ** 63n));
  expect(parseArg('[1234567890123456789, "9999999999999999999", 0.12345678901234567]')).toEqual([
    1234567890123456789n,
    '9999999999999999999',
    Number('0.12345678901234567'),
  ]);
  expect(parseArg('1000000000000000')).toBe(1e15);
  expect(parseArg('{"a": 1')).toBe('{"a": 1');
});

test('pretty output: bytes like Python, big integers in full, nothing cut short', () => {
  expect(bytesLiteral(new Uint8Array([0, 1, 0x41, 0x27, 0x5c, 0x0a, 0xff]))).toBe(
    "b'\\x00\\x01A\\'\\\\\\n\\xff'",
  );
  expect(pretty({ big: 2n ** 63n, b: new Uint8Array([104, 105]), s: 'x' })).toBe(
    "{ big: 9223372036854775808, b: b'hi', s: 'x' }",
  );
  expect(pretty(Array.from({ length: 150 }, (_, i) => i))).not.toContain('more items');
});

test('JSON output: one line, integers exact, bytes as {"$bin": hex}', () => {
  expect(toJson({ a: [1, 2.5, null, true], big: 2n ** 63n, b: new Uint8Array([0, 255]) })).toBe(
    '{"a":[1,2.5,null,true],"big":9223372036854775808,"b":{"$bin":"00ff"}}',
  );
  expect(toJson('line\nbreak')).toBe('"line\\nbreak"');
  expect(toJson(Number.NaN)).toBe('null');
});
