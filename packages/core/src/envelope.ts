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
