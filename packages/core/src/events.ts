import type { MessageId } from './message-id.js';

/*
 * The zerorpc v3 vocabulary (PROTOCOL.md §2-7): what an event is, the names
 * it may carry, and the headers each side puts on it. Both sides build their
 * headers here, so a rule about headers lives in one place.
 */

/** zerorpc protocol version carried in every header as `v`. */
export const PROTOCOL_VERSION = 3;

/** Header of an event. Unknown keys travel untouched (task context). */
export interface EventHeader {
  message_id: MessageId;
  v?: number;
  response_to?: MessageId;
  [key: string]: unknown;
}

/** One zerorpc event: `[header, name, args]` on the wire. */
export interface ZEvent {
  header: EventHeader;
  name: string;
  args: unknown;
}

/** A plain reply: args `[result]`. */
export const OK = 'OK';
/** A failure: args `[name, message, traceback]`. */
export const ERR = 'ERR';
/** One item of a stream: args is the item itself, unwrapped. */
export const STREAM = 'STREAM';
/** The end of a stream: args `null`. */
export const STREAM_DONE = 'STREAM_DONE';
/** Control event: "you may send n more events", args `[n]`. Never reaches application code. */
export const MORE = '_zpc_more';
/** Control event: "still here", args `[0]`. Never reaches application code. */
export const HEARTBEAT = '_zpc_hb';

/**
 * Control event of zrpc (not of the reference): "I no longer want this
 * call", args `[]`. The server stops the call at once and answers nothing.
 * A zrpc client sends it only to a server that showed `ZRPC_HEARTBEAT_KEY`,
 * so a reference server never sees it.
 */
export const CANCEL = '_zpc_cancel';
/**
 * Header key a zrpc peer adds to its requests (client) and to every event it
 * sends on a channel (server): its heartbeat interval in ms. The other side
 * then heart-beats at least that often and waits for the slower of the two
 * before declaring it lost; its presence also tells a client that the server
 * understands `CANCEL`. Reference peers ignore header keys they do not know.
 */
export const ZRPC_HEARTBEAT_KEY = 'zrpc_hb';
/** The heartbeat interval reference peers use unless configured otherwise, in ms. */
export const REFERENCE_HEARTBEAT_MS = 5000;

/** Header keys that belong to the protocol, not to task context. */
export const PROTOCOL_HEADER_KEYS: ReadonlySet<string> = new Set([
  'message_id',
  'v',
  'response_to',
  ZRPC_HEARTBEAT_KEY,
]);

/** The header of a request (a channel's first event): its id, the version, then the task context. */
export function requestHeader(
  id: MessageId,
  taskContext: Readonly<Record<string, unknown>>,
): EventHeader {
  const header: EventHeader = { message_id: id, v: PROTOCOL_VERSION };
  return withExtraKeys(header, taskContext);
}

/**
 * The header of any later event on channel `channelId`, either way: its own
 * id, the version, `response_to`, then `extra` keys (a server middleware's
 * reply header, say). Extra keys never override the protocol's own.
 */
export function channelHeader(
  id: MessageId,
  channelId: MessageId,
  extra?: Readonly<Record<string, unknown>>,
): EventHeader {
  const header: EventHeader = { message_id: id, v: PROTOCOL_VERSION, response_to: channelId };
  return extra === undefined ? header : withExtraKeys(header, extra);
}

/**
 * The header of an event a zrpc server sends on channel `channelId`:
 * `channelHeader`'s keys and `extra`, then its heartbeat interval
 * (`ZRPC_HEARTBEAT_KEY`). Without extra keys, one object literal of one
 * shape: a server makes one per event.
 */
export function serverEventHeader(
  id: MessageId,
  channelId: MessageId,
  heartbeatMs: number,
  extra?: Readonly<Record<string, unknown>>,
): EventHeader {
  if (extra === undefined) {
    return { message_id: id, v: PROTOCOL_VERSION, response_to: channelId, zrpc_hb: heartbeatMs };
  }
  const header = channelHeader(id, channelId, extra);
  header[ZRPC_HEARTBEAT_KEY] = heartbeatMs;
  return header;
}

/**
 * The header of a zrpc client's request: `requestHeader`'s keys, then its
 * heartbeat interval (`ZRPC_HEARTBEAT_KEY`). Without task context, one
 * object literal of one shape.
 */
export function clientRequestHeader(
  id: MessageId,
  taskContext: Readonly<Record<string, unknown>>,
  heartbeatMs: number,
): EventHeader {
  for (const _ in taskContext) {
    const header = requestHeader(id, taskContext);
    header[ZRPC_HEARTBEAT_KEY] = heartbeatMs;
    return header;
  }
  return { message_id: id, v: PROTOCOL_VERSION, zrpc_hb: heartbeatMs };
}

function withExtraKeys(header: EventHeader, extra: Readonly<Record<string, unknown>>): EventHeader {
  for (const key in extra) {
    if (Object.hasOwn(extra, key) && !PROTOCOL_HEADER_KEYS.has(key))
      setKey(header, key, extra[key]);
  }
  return header;
}

/**
 * `record[key] = value`, except that a `__proto__` key (a header a Python
 * peer sent may have one) becomes an own key like any other instead of
 * setting the record's prototype.
 */
export function setKey(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    record[key] = value;
  }
}

/** The result an `OK` reply carries: its args are `[result]`. */
export function okValue(args: unknown): unknown {
  return Array.isArray(args) ? args[0] : args;
}

/** The heartbeat interval a zrpc peer advertised in `header`, if it did (a sane one). */
export function advertisedHeartbeat(header: Readonly<EventHeader>): number | undefined {
  const ms = header[ZRPC_HEARTBEAT_KEY];
  return typeof ms === 'number' && Number.isInteger(ms) && ms >= 1 && ms <= 86_400_000
    ? ms
    : undefined;
}
