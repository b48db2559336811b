import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  errorName,
  isStream,
  LostRemoteError,
  onStreamEnd,
  RemoteError,
  TimeoutError,
} from '@zrpc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { renderArgs } from '../src/args.js';
import { markZrpcFramesNotInApp } from '../src/frames.js';
import { sentryClient, sentryServer } from '../src/index.js';
import { failureOf } from '../src/outcome.js';

describe('errorName: the name an ERR reply carries', () => {
  class ValueError extends Error {}
  class Named extends Error {
    override name = 'Custom';
  }
  it.each([
    [new ValueError('x'), 'ValueError'],
    [new Named('x'), 'Custom'],
    [new Error('x'), 'Error'],
    [new TypeError('x'), 'TypeError'],
    [{ name: 'KeyError', message: 'k' }, 'KeyError'],
    [{ name: 'NoMessage' }, 'Error'],
    ['a string', 'Error'],
    [null, 'Error'],
    [Object.create(null), 'Error'],
  ])('%o → %s', (error, name) => {
    expect(errorName(error)).toBe(name);
  });

  it('never throws, whatever was thrown', () => {
    const hostile = new Proxy(new Error('x'), {
      get() {
        throw new Error('no');
      },
    });
    expect(errorName(hostile)).toBe('Error');
  });
});

describe('failureOf: how a failed call is recorded', () => {
  it('a crash on the server is captured; on the client it is only a status', () => {
    expect(failureOf(new Error('x'), 'server', false)).toEqual({
      status: 'internal_error',
      name: 'Error',
      crash: true,
    });
    expect(failureOf(new RemoteError('ValueError', 'x'), 'client', false)).toEqual({
      status: 'internal_error',
      name: 'ValueError',
      crash: false,
    });
  });

  it('transport and load conditions are statuses, never crashes, on either side', () => {
    const cases: Array<[unknown, string]> = [
      [new LostRemoteError(5000), 'unavailable'],
      [new TimeoutError(100, 'f'), 'deadline_exceeded'],
      [new RemoteError('ServerBusyError', 'busy'), 'resource_exhausted'],
      [new RemoteError('TooManyChannelsError', 'too many'), 'resource_exhausted'],
      [new RemoteError('ServerClosingError', 'closing'), 'unavailable'],
      [new RemoteError('NameError', 'nope'), 'unimplemented'],
      [new RemoteError('ServerDrainingError', 'not run'), 'unavailable'],
      [new RemoteError('PeerGoneError', 'gone'), 'unavailable'],
      [new DOMException('aborted', 'AbortError'), 'cancelled'],
      [AbortSignal.abort().reason, 'cancelled'],
    ];
    for (const [error, status] of cases) {
      for (const side of ['server', 'client'] as const) {
        expect(failureOf(error, side, false)).toMatchObject({ status, crash: false });
      }
    }
  });

  it("the call's own abandonment is cancelled; an expected error is invalid_argument", () => {
    expect(failureOf(new LostRemoteError(100), 'server', false, true)).toMatchObject({
      status: 'cancelled',
      crash: false,
    });
    expect(failureOf(new Error('x'), 'server', true)).toMatchObject({
      status: 'invalid_argument',
      crash: false,
    });
  });
});

describe('renderArgs', () => {
  it('writes msgpack values JSON lacks readably', () => {
    expect(renderArgs([1n << 64n, new Uint8Array(3), Buffer.alloc(5), 'é'], 2048)).toBe(
      '["18446744073709551616","<3 bytes>","<5 bytes>","é"]',
    );
  });

  it('cuts to the byte budget on a character boundary', () => {
    const text = renderArgs(['€'.repeat(100)], 32);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(32);
    expect(text).toMatch(/^\["€+…$/);
    expect(text).not.toContain('\uFFFD');
  });

  it('sends what the scrubber returns, and says so when the scrubber fails', () => {
    expect(renderArgs(['user', 'pw'], 100, (args) => [args[0], '***'])).toBe('["user","***"]');
    expect(
      renderArgs(['x'], 100, () => {
        throw new Error('scrubber broke');
      }),
    ).toBe('[arguments not recorded: scrubber broke]');
  });
});

describe('markZrpcFramesNotInApp', () => {
  const root = mkdtempSync(join(tmpdir(), 'zrpc-sentry-frames-'));
  const files = {
    server: join(root, 'server', 'dist', 'dispatch.js'),
    app: join(root, 'app', 'rpcs.js'),
    bare: join(root, 'loose', 'script.js'),
  };
  mkdirSync(join(root, 'server', 'dist'), { recursive: true });
  mkdirSync(join(root, 'app'));
  mkdirSync(join(root, 'loose'));
  writeFileSync(join(root, 'server', 'package.json'), '{"name": "@zrpc/server"}');
  // A build directory's own package.json without a name does not hide the package's.
  writeFileSync(join(root, 'server', 'dist', 'package.json'), '{"type": "module"}');
  writeFileSync(join(root, 'app', 'package.json'), '{"name": "@zrpc/example-app"}');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("marks the frames of zrpc's packages, and only those", () => {
    const frames = [
      { filename: files.server, in_app: true },
      { filename: pathToFileURL(files.server).href, in_app: true },
      { filename: files.app, in_app: true },
      { filename: files.bare, in_app: true },
      { filename: 'node:internal/process/task_queues', in_app: false },
      { filename: '<anonymous>', in_app: true },
    ];
    const event = markZrpcFramesNotInApp({
      exception: { values: [{ type: 'Error', stacktrace: { frames } }] },
    });
    const inApp = event.exception!.values![0]!.stacktrace!.frames!.map((f) => f.in_app);
    expect(inApp).toEqual([false, false, true, true, false, true]);
  });
});

describe('onStreamEnd', () => {
  async function* items(n: number, failAt?: number) {
    for (let i = 0; i < n; i++) {
      if (i === failAt) throw new Error('broke');
      yield i;
    }
  }

  it('tells once, at the end, at an early return, or with the error', async () => {
    const seen: unknown[] = [];
    const full = items(2);
    onStreamEnd(full, (error) => seen.push(['full', error]));
    const got: number[] = [];
    for await (const item of { [Symbol.asyncIterator]: () => full }) got.push(item);
    expect(got).toEqual([0, 1]);

    const early = items(5);
    onStreamEnd(early, (error) => seen.push(['early', error]));
    await early.next();
    await early.return(undefined);
    await early.return(undefined);

    const failing = items(3, 1);
    onStreamEnd(failing, (error) => seen.push(['failing', (error as Error).message]));
    await failing.next();
    await expect(failing.next()).rejects.toThrow('broke');
    await failing.next();

    expect(seen).toEqual([
      ['full', undefined],
      ['early', undefined],
      ['failing', 'broke'],
    ]);
    expect(isStream(full)).toBe(true);
    expect(isStream([1, 2])).toBe(false);
    expect(isStream(null)).toBe(false);
  });
});

describe('options', () => {
  it('refuses bad options when the middleware is made', () => {
    expect(() => sentryServer({ maxArgsBytes: 0 })).toThrow(RangeError);
    expect(() => sentryServer({ serverName: 1 as never })).toThrow(TypeError);
    expect(() => sentryServer({ scrubArgs: 'x' as never })).toThrow(TypeError);
    expect(() => sentryServer({ expected: 'NotFound' as never })).toThrow(TypeError);
    expect(() => sentryClient({ service: {} as never })).toThrow(TypeError);
    expect(typeof sentryServer()).toBe('function');
    expect(typeof sentryClient()).toBe('function');
  });
});
