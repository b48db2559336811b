import { RemoteError, TimeoutError } from '@zrpc/core';
import { describe, expect, it } from 'vitest';
import { endpointAttributes } from '../src/attributes.js';
import { otelClient, otelServer } from '../src/index.js';
import { abandonedOutcome, outcomeOf } from '../src/outcome.js';

describe('server.address and server.port, from the endpoint', () => {
  it.each([
    ['tcp://billing:4242', { 'server.address': 'billing', 'server.port': 4242 }],
    ['tcp://10.1.2.80:1', { 'server.address': '10.1.2.80', 'server.port': 1 }],
    ['tcp://[::1]:4242', { 'server.address': '::1', 'server.port': 4242 }],
    ['tcp://eth0;billing:4242', { 'server.address': 'billing', 'server.port': 4242 }],
    ['ipc:///run/billing.sock', { 'server.address': '/run/billing.sock' }],
    ['inproc://billing', { 'server.address': 'billing' }],
    [undefined, {}],
  ])('%s', (endpoint, attributes) => {
    expect(endpointAttributes(endpoint)).toEqual(attributes);
  });

  it('refuses what is no endpoint', () => {
    expect(() => endpointAttributes('billing:4242')).toThrow(TypeError);
  });
});

describe('options', () => {
  it('are checked when the middleware is made', () => {
    expect(() => otelServer({ service: 42 as never })).toThrow(
      new TypeError('service must be a string'),
    );
    expect(() => otelClient({ endpoint: 'billing' })).toThrow(TypeError);
    expect(() => otelClient({ expected: 'NotFound' as never })).toThrow(
      new TypeError('expected must be a list of error names or a predicate'),
    );
  });
});

describe('outcomes', () => {
  it('a client: every status but ok is a failure, error.type the status or the remote name', () => {
    expect(outcomeOf(new RemoteError('ValueError', 'bad', ''), 'client', false)).toEqual({
      status: 'error',
      failed: true,
      errorType: 'ValueError',
      message: 'bad',
    });
    expect(
      outcomeOf(new RemoteError('ServerBusyError', 'busy', ''), 'client', false),
    ).toMatchObject({ status: 'refused_busy', failed: true, errorType: 'refused_busy' });
    expect(outcomeOf(new TimeoutError(100, 'add'), 'client', false)).toMatchObject({
      status: 'timed_out',
      failed: true,
    });
  });

  it("a server: the caller's bad arguments and expected errors are no failure", () => {
    const badArguments = Object.assign(new TypeError('add() takes 2 arguments'), {
      zrpcStatus: 'bad_arguments',
    });
    expect(outcomeOf(badArguments, 'server', false)).toMatchObject({
      status: 'bad_arguments',
      failed: false,
    });
    expect(outcomeOf(badArguments, 'client', false)).toMatchObject({ failed: true });
    expect(outcomeOf(new Error('x'), 'server', true)).toMatchObject({
      status: 'error',
      failed: false,
    });
  });

  it('an abandoned server call: the reason says why, no failure', () => {
    const reason = Object.assign(new Error('the client cancelled the call'), {
      name: 'CancelledByClientError',
    });
    expect(abandonedOutcome(reason)).toEqual({
      status: 'cancelled',
      failed: false,
      errorType: 'cancelled',
      message: 'the client cancelled the call',
    });
  });
});
