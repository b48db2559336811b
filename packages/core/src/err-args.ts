import { inspect } from 'node:util';
import { RemoteError } from './errors.js';

/*
 * The one pair of functions that make and read an ERR event's args
 * (PROTOCOL.md §4): a server turns what a handler threw into
 * `[name, message, traceback]`, a client turns those back into a
 * `RemoteError`. Middleware reads `errorName` to know what a caller will see.
 */

/** The `[name, message, traceback]` args of an ERR event. */
export type ErrArgs = [name: string, message: string, traceback: string];

/**
 * How an error travels in an ERR event. An Error subclass that does not set
 * `name` is known by its constructor's name (`class ValueError extends
 * Error {}` goes out as `ValueError`). Other thrown values keep whatever
 * name and message they carry, or become a plain `Error` describing them.
 * Never throws, whatever was thrown.
 */
export function errArgs(error: unknown, tracebacks: boolean): ErrArgs {
  try {
    return describe(error, tracebacks);
  } catch {
    // A thrown value whose name, message or stack throws when read.
    return ['Error', 'an error that could not be read', ''];
  }
}

/** The error name a caller sees in the ERR reply for `error` (`ValueError`, `NameError`...). */
export function errorName(error: unknown): string {
  return errArgs(error, false)[0];
}

/** The error an ERR event carries, as the caller sees it. Liberal: missing or bin fields are read too. */
export function remoteErrorOf(args: unknown): RemoteError {
  const [name, message, traceback] = Array.isArray(args) ? args : [];
  return new RemoteError(text(name) || 'RemoteError', text(message), text(traceback));
}

function describe(error: unknown, tracebacks: boolean): ErrArgs {
  if (error instanceof Error) {
    const name = nameOf(error);
    return [name, String(error.message), tracebacks ? traceback(error, name) : ''];
  }
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    if (typeof name === 'string' && typeof message === 'string') return [name, message, ''];
  }
  const message = typeof error === 'string' ? error : inspect(error, { depth: 2 });
  return ['Error', message, ''];
}

function nameOf(error: Error): string {
  if (typeof error.name === 'string' && error.name && error.name !== 'Error') return error.name;
  const ctor = error.constructor?.name;
  return ctor && ctor !== 'Object' ? ctor : 'Error';
}

/** The stack, its first line naming the error as the ERR does (`ValueError: ...`, not `Error: ...`). */
function traceback(error: Error, name: string): string {
  const stack = String(error.stack ?? '');
  return name !== error.name && stack.startsWith(`${error.name}:`)
    ? name + stack.slice(error.name.length)
    : stack;
}

const utf8 = new TextDecoder();

// Old Python 2 peers send these strings as bin.
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return value === undefined || value === null ? '' : String(value);
}
