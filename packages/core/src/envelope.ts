/**
 * A ZeroMQ multipart message split the way the reference peers read it
 * (PROTOCOL.md §1): the last frame is the payload, the frames before the
 * empty delimiter are the routing identity.
 */
export interface Envelope {
  identity: Buffer[];
  payload: Buffer;
}

/** Returns undefined for garbage (no frames, or an empty payload). */
export function openEnvelope(frames: Buffer[]): Envelope | undefined {
  const payload = frames[frames.length - 1];
  if (payload === undefined || payload.length === 0) return undefined;
  let end = frames.length - 1;
  if (end > 0 && frames[end - 1]!.length === 0) end -= 1;
  return { identity: frames.slice(0, end), payload };
}

/**
 * The payload alone, for a side that routes by the payload (a client):
 * `openEnvelope(frames)?.payload` without the envelope object.
 */
export function payloadOf(frames: Buffer[]): Buffer | undefined {
  const payload = frames[frames.length - 1];
  return payload === undefined || payload.length === 0 ? undefined : payload;
}

/**
 * Whether a message a client read holds several events, a frame each: a
 * zrpc server batches what it has for a zrpc client (docs/EXTENSIONS.md).
 * A reference peer's message always has the empty delimiter, and then
 * only its last frame is an event.
 */
export function isBatch(frames: Buffer[]): boolean {
  if (frames.length < 2) return false;
  for (const frame of frames) if (frame.length === 0) return false;
  return true;
}

/**
 * At most this many events, and this many bytes of them, go in one message
 * between zrpc peers (docs/EXTENSIONS.md, "Several events in one message"):
 * a larger event goes alone. ZeroMQ's pipes count messages (128 a peer on a
 * server), so this bounds the bytes a pipe holds for a peer that never reads.
 */
export const BATCH_EVENTS = 64;
export const BATCH_BYTES = 32 * 1024;

/** Whether an event of `bytes` may join a batch of `events` events and `batchBytes` bytes. */
export function fitsInBatch(events: number, batchBytes: number, bytes: number): boolean {
  return events < BATCH_EVENTS && batchBytes + bytes <= BATCH_BYTES;
}

/**
 * The frame a zrpc client puts before the events it sends a zrpc server in
 * one message: `[marker, payload, payload, ...]`, which the server's ROUTER
 * reads after the routing frames. (A marker, because frames before the
 * payload without a delimiter are routing frames to a reference reader.)
 */
export const BATCH_MARKER: Buffer = Buffer.from('zrpc-batch');

/**
 * Where the events of a client's batch start in a message a ROUTER read
 * (`[routing frames, marker, payload, ...]`), or -1 for any other message.
 */
export function batchStart(frames: Buffer[]): number {
  for (let i = 1; i < frames.length - 1; i++) {
    const frame = frames[i]!;
    // A delimiter first: the reference envelope.
    if (frame.length === 0) return -1;
    if (frame.length === BATCH_MARKER.length && frame.equals(BATCH_MARKER)) return i + 1;
  }
  return -1;
}
