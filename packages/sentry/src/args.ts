/** How many bytes of arguments an event carries unless told otherwise. */
export const DEFAULT_MAX_ARGS_BYTES = 2048;

/**
 * A call's arguments as JSON for an event's context, cut to `maxBytes` of
 * UTF-8. msgpack values that JSON lacks are written readably: a bigint as
 * its digits, bytes as their length. `scrub` runs first and decides what
 * may leave the process; if it (or the value it returns) fails, the event
 * says so instead of carrying anything.
 */
export function renderArgs(
  args: readonly unknown[],
  maxBytes: number,
  scrub?: (args: readonly unknown[]) => unknown,
): string {
  let json: string;
  try {
    const value = scrub === undefined ? args : scrub(args);
    json = JSON.stringify(value, jsonSafe) ?? 'undefined';
  } catch (error) {
    return `[arguments not recorded: ${error instanceof Error ? error.message : String(error)}]`;
  }
  return truncate(json, maxBytes);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  // A Buffer reaches the replacer already turned into { type: 'Buffer', data }.
  if (isBufferJson(value)) return `<${value.data.length} bytes>`;
  return value;
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

const ELLIPSIS = '…';

function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  // Cut on a character boundary: decode the first bytes and drop a split
  // character (decoded as U+FFFD) at the end.
  const room = Math.max(0, maxBytes - Buffer.byteLength(ELLIPSIS));
  const head = Buffer.from(text)
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return head + ELLIPSIS;
}
