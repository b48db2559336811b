import { describe, expect, it } from 'vitest';
import {
  AddressError,
  endpointHostName,
  HostNotFoundError,
  parseAddrport,
  resolveEndpointHost,
} from '../src/index.js';

// The forms and messages themselves are tested through the runner
// (packages/server/test/runner-parsing.test.ts); here, what core adds.
describe('parseAddrport', () => {
  it('reads a bare port as 127.0.0.1 and refuses with an AddressError', () => {
    expect(parseAddrport('4242')).toEqual({ endpoint: 'tcp://127.0.0.1:4242', ipv6: false });
    expect(() => parseAddrport('abc')).toThrow(AddressError);
    expect(() => parseAddrport('abc')).toThrow(
      '"abc" is not a valid port number or address:port pair.',
    );
  });
});

describe('endpointHostName', () => {
  it.each([
    ['tcp://localhost:4242', 'localhost'],
    ['tcp://rpc-1.internal.example.com:80', 'rpc-1.internal.example.com'],
    ['tcp://eth0;billing.local:80', 'billing.local'],
    ['tcp://127.0.0.1:4242', undefined],
    ['tcp://[::1]:4242', undefined],
    ['tcp://*:4242', undefined],
    ['ipc:///tmp/zrpc.sock', undefined],
    ['inproc://zrpc', undefined],
  ])('%s has host name %s', (endpoint, host) => {
    expect(endpointHostName(endpoint)).toBe(host);
  });
});

describe('resolveEndpointHost', () => {
  it('resolves localhost, and needs no lookup for an IP address', async () => {
    const resolved = await resolveEndpointHost('tcp://localhost:4242');
    expect(resolved?.host).toBe('localhost');
    expect(resolved?.families.size).toBeGreaterThan(0);
    expect(await resolveEndpointHost('tcp://127.0.0.1:4242')).toBeUndefined();
  });

  it('names a host that does not resolve (.invalid never does, RFC 2606)', async () => {
    const error = await resolveEndpointHost('tcp://nosuch.invalid:4242').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotFoundError);
    expect((error as HostNotFoundError).host).toBe('nosuch.invalid');
    expect((error as Error).message).toMatch(/^host "nosuch\.invalid" does not resolve \(\w+\)$/);
  });
});
