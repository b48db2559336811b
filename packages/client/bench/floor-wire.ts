import { pack, unpack } from './msgpack.js';

/**
 * The zerorpc event as the floor stack handles it: stock msgpack, str
 * message ids, no validation, no channel, no heartbeat, no credit. Nothing
 * zerorpc-compatible on zeromq.js can do less per message.
 */
export interface FloorHeader {
  message_id: string;
  v: 3;
  response_to?: string;
}

export type FloorEvent = [header: FloorHeader, name: string, args: unknown];

export const EMPTY_FRAME = Buffer.alloc(0);

export const encodeFloorEvent = (event: FloorEvent): Uint8Array => pack(event);

/** Decodes the payload, the last frame of a multipart message. */
export const decodeFloorEvent = (frames: Buffer[]): FloorEvent =>
  unpack(frames[frames.length - 1]!) as FloorEvent;
