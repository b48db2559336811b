import { errorName } from './err-args.js';
import { isRemoteError } from './errors.js';

/**
 * Errors that are part of an API rather than failures (a `NotFound`, a
 * validation error), as reporting middleware take them in an `expected`
 * option: the names the caller sees, or a predicate of the error and the
 * call's context.
 */
export type ExpectedErrors<C> = readonly string[] | ((error: unknown, ctx: C) => boolean);

/**
 * The `expected` option as one predicate; a `TypeError` for anything but a
 * list of names or a function (when the middleware is made, not per call).
 * A name matches the error's name as the caller sees it (`errorName`) or,
 * for a `RemoteError` passed on from a call further down, the remote name
 * it carries. A predicate that throws, or answers anything but `true`,
 * says "not expected": reporting must not fail the call.
 */
export function expectedPredicate<C>(
  expected: ExpectedErrors<C> | undefined,
): (error: unknown, ctx: C) => boolean {
  if (expected === undefined) return () => false;
  if (typeof expected === 'function') {
    return (error, ctx) => {
      try {
        return expected(error, ctx) === true;
      } catch {
        return false;
      }
    };
  }
  if (!Array.isArray(expected) || expected.some((name) => typeof name !== 'string')) {
    throw new TypeError('expected must be a list of error names or a predicate');
  }
  const names = new Set(expected);
  return (error) =>
    names.has(errorName(error)) || (isRemoteError(error) && names.has(error.remoteName));
}
