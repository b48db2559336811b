import { inspect } from 'node:util';
import { ZrpcError } from '@zrpc/core';

/** Every slot is taken: `concurrency` calls run and `queueLimit` wait. */
export class ServerBusyError extends ZrpcError {
  override name = 'ServerBusyError';
}

/** One peer already holds `maxChannelsPerPeer` open channels (flood guard). */
export class TooManyChannelsError extends ZrpcError {
  override name = 'TooManyChannelsError';
}

/** The server is shutting down: it takes no new calls and cancels those outliving the grace period. */
export class ServerClosingError extends ZrpcError {
  override name = 'ServerClosingError';
}

/**
 * An unknown method. The name is Python's because reference clients (and
 * people used to them) recognise `NameError: <method>`.
 */
export class NameError extends Error {
  override name = 'NameError';
}

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

function describe(error: unknown, tracebacks: boolean): ErrArgs {
  if (error instanceof Error) {
    const name = errorName(error);
    return [name, String(error.message), tracebacks ? traceback(error, name) : ''];
  }
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    if (typeof name === 'string' && typeof message === 'string') return [name, message, ''];
  }
  const message = typeof error === 'string' ? error : inspect(error, { depth: 2 });
  return ['Error', message, ''];
}

function errorName(error: Error): string {
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
