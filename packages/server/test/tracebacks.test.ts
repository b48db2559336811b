import { Registry } from '@zrpc/core';
import { expect, test } from 'vitest';
import { defaultTracebacks } from '../src/options.js';
import { quietLogger, serverPerTest } from './helpers.js';

const session = serverPerTest();
const registry = new Registry();
registry.register(function fails() {
  throw new RangeError('out of range');
});

test.each([
  [['tcp://127.0.0.1:4242'], true],
  [['tcp://127.5.0.1:4242', 'ipc:///tmp/x', 'inproc://y'], true],
  [['tcp://[::1]:4242', 'tcp://localhost:4242'], true],
  [['tcp://0.0.0.0:4242'], false],
  [['tcp://*:4242'], false],
  [['tcp://127.0.0.1:4242', 'tcp://192.168.1.4:4242'], false],
  [['tcp://[::]:4242'], false],
  [['tcp://eth0:4242'], false],
])('tracebacks by default for %j: %s', (endpoints, expected) => {
  expect(defaultTracebacks(endpoints)).toBe(expected);
});

test('never by default in production, even on loopback', () => {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    expect(defaultTracebacks(['tcp://127.0.0.1:1'])).toBe(false);
  } finally {
    process.env.NODE_ENV = before;
  }
});

test('on loopback the caller gets the traceback by default', async () => {
  const { client } = await session.start({ registry });
  client.request('fails', []);
  const [name, message, traceback] = (await client.nextReply()).args as string[];
  expect([name, message]).toEqual(['RangeError', 'out of range']);
  expect(traceback).toMatch(/^RangeError: out of range\n\s+at .*tracebacks.test.ts/);
});

test('a withheld traceback goes to the server log; the caller sees name and message', async () => {
  const logger = quietLogger();
  const { client } = await session.start({ registry, tracebacks: false, logger });
  client.request('fails', []);
  expect((await client.nextReply()).args).toEqual(['RangeError', 'out of range', '']);
  const line = logger.lines.find((l) => l.level === 'error')!;
  expect(String(line.args[0])).toMatch(/fails\(\) failed/);
  expect((line.args[1] as Error).stack).toMatch(/tracebacks.test.ts/);
});
