import { RemoteError } from '@zrpc/core';

/** Reply event names (PROTOCOL.md §4, §5). */
export const OK = 'OK';
export const ERR = 'ERR';
export const STREAM = 'STREAM';
export const STREAM_DONE = 'STREAM_DONE';

/** The result an `OK` reply carries: its args are `[result]`. */
export function okValue(args: unknown): unknown {
  return Array.isArray(args) ? args[0] : args;
}

/** The error an `ERR` event carries: args `[name, message, traceback]`. */
export function remoteErrorOf(args: unknown): RemoteError {
  const [name, message, traceback] = Array.isArray(args) ? args : [];
  return new RemoteError(text(name) || 'RemoteError', text(message), text(traceback));
}

const utf8 = new TextDecoder();

// Old Python 2 peers send these strings as bin.
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return value === undefined || value === null ? '' : String(value);
}
