import { describe, expect, it } from 'vitest';
import { ArgumentsError, RemoteError } from '../src/errors.js';
import { expectedPredicate, headerText, isRemoteError } from '../src/index.js';

// Helpers for middleware that reports calls (@zrpc/sentry, @zrpc/opentelemetry, a user's own).

describe('isRemoteError', () => {
  it('tells a RemoteError by its name, also one made by another copy of the package', () => {
    expect(isRemoteError(new RemoteError('ValueError', 'bad'))).toBe(true);
    class RemoteErrorOfAnotherCopy extends Error {
      override name = 'RemoteError';
      readonly remoteName = 'ValueError';
    }
    expect(isRemoteError(new RemoteErrorOfAnotherCopy('x'))).toBe(true);
  });

  it('is false for other errors and for what only looks like one', () => {
    expect(isRemoteError(new Error('RemoteError'))).toBe(false);
    expect(isRemoteError(new ArgumentsError('x'))).toBe(false);
    expect(isRemoteError(Object.assign(new Error('x'), { name: 'RemoteError' }))).toBe(false);
    expect(isRemoteError({ name: 'RemoteError', remoteName: 'ValueError' })).toBe(false);
    expect(isRemoteError(undefined)).toBe(false);
  });
});

describe('expectedPredicate', () => {
  class NotFound extends Error {}

  it('a name matches the name the caller sees, or the remote name a RemoteError carries', () => {
    const expected = expectedPredicate(['NotFound']);
    expect(expected(new NotFound('x'), {})).toBe(true);
    expect(expected(new RemoteError('NotFound', 'x'), {})).toBe(true);
    expect(expected(new RemoteError('ValueError', 'x'), {})).toBe(false);
    expect(expected(new Error('NotFound'), {})).toBe(false);
    expect(expected('NotFound', {})).toBe(false);
  });

  it('no option: nothing is expected', () => {
    expect(expectedPredicate(undefined)(new NotFound('x'), {})).toBe(false);
  });

  it('a predicate is asked with the error and the call context', () => {
    const ctx = { method: 'find' };
    const seen: unknown[] = [];
    const expected = expectedPredicate<typeof ctx>((error, c) => {
      seen.push(error, c);
      return c.method === 'find';
    });
    const error = new NotFound('x');
    expect(expected(error, ctx)).toBe(true);
    expect(seen).toEqual([error, ctx]);
  });

  it('a predicate that throws, or answers anything but true, says "not expected"', () => {
    const throwing = expectedPredicate(() => {
      throw new Error('oops');
    });
    expect(throwing(new NotFound('x'), {})).toBe(false);
    const truthy = expectedPredicate((() => 'yes') as never);
    expect(truthy(new NotFound('x'), {})).toBe(false);
  });

  it('refuses anything but a list of names or a function, when made', () => {
    const refusal = new TypeError('expected must be a list of error names or a predicate');
    expect(() => expectedPredicate('NotFound' as never)).toThrow(refusal);
    expect(() => expectedPredicate([1] as never)).toThrow(refusal);
  });
});

describe('headerText', () => {
  it('str as it is, bin (as an older peer sends it) decoded as UTF-8', () => {
    expect(headerText('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    expect(headerText(new TextEncoder().encode('tenant-é'))).toBe('tenant-é');
    expect(headerText(Buffer.from('abc'))).toBe('abc');
  });

  it('reads what is not text as absent: bin that is not UTF-8, numbers, maps, nothing', () => {
    expect(headerText(new Uint8Array([0xff, 0xfe]))).toBeUndefined();
    expect(headerText(42)).toBeUndefined();
    expect(headerText({ trace: 'x' })).toBeUndefined();
    expect(headerText(null)).toBeUndefined();
    expect(headerText(undefined)).toBeUndefined();
  });
});
