/*
 * @zrpc/core/protocol: the zerorpc v3 machinery that servers and clients are
 * built from (PROTOCOL.md). Handler and middleware authors need none of it:
 * their contracts are in `@zrpc/core`.
 */
export { needsIpv6 } from './address.js';
export { runInCall } from './call-context.js';
export type { ChannelOptions, ChannelSink } from './channel.js';
export { Channel, MAX_CREDIT } from './channel.js';
export { ChannelTimer, ChannelTimers, monotonicNow, type Ticking } from './channel-timer.js';
export { type Clock, type ClockTimer, realClock, sleepOn } from './clock.js';
export {
  decodeEvent,
  decodeValue,
  encodeEvent,
  encodeValue,
  headerRecord,
  MAX_DEPTH,
  MAX_ENCODE_DEPTH,
  readableHead,
} from './codec.js';
export { durationMs, isDurationMs, MAX_TIMER_MS } from './duration.js';
export type { Envelope } from './envelope.js';
export {
  BATCH_BYTES,
  BATCH_EVENTS,
  BATCH_MARKER,
  batchStart,
  fitsInBatch,
  isBatch,
  openEnvelope,
  payloadOf,
} from './envelope.js';
export type { ErrArgs } from './err-args.js';
export { errArgs, errorName, remoteErrorOf } from './err-args.js';
export type { EventHeader, ZEvent } from './events.js';
export {
  advertisedHeartbeat,
  CANCEL,
  channelHeader,
  clientRequestHeader,
  ERR,
  HEARTBEAT,
  MORE,
  OK,
  okValue,
  PROTOCOL_HEADER_KEYS,
  PROTOCOL_VERSION,
  REFERENCE_HEARTBEAT_MS,
  requestHeader,
  STREAM,
  STREAM_DONE,
  serverEventHeader,
  ZRPC_HEARTBEAT_KEY,
} from './events.js';
export type { MessageId } from './message-id.js';
export { MessageIdGenerator, messageIdKey } from './message-id.js';
export { type Moves, move, type Named, PhaseError } from './phase.js';
export { workerFunction } from './registry.js';
export { SendQueue } from './send-queue.js';
export { type Readable, readLoop, TURN_MS, Turns } from './turns.js';
