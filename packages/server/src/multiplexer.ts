/**
 * A peer as a Map key: its connection. A ROUTER prepends exactly one frame
 * to what a connection sends, the routing id ZeroMQ gave it (or the one it
 * chose with `routingId` before connecting); any other frame before the
 * delimiter was chosen by the peer per message, so it is no part of the key
 * (a peer adding a random frame to every message is still one peer).
 * A number for the ids ZeroMQ makes itself (5 bytes, the first 0: nearly
 * every peer), else hex: no string is made per message for the common case.
 */
export type PeerKey = number | string;

export function peerKeyOf(identity: readonly Buffer[]): PeerKey {
  const frame = identity[0]!;
  if (frame.length === 5 && frame[0] === 0) return frame.readUInt32BE(1);
  return frame.toString('hex');
}

/** The hex of recent peers' ids (see `identityHex`), at most `HEX_CACHE_SIZE` of them. */
const hexOfPeer = new Map<number, string>();
const HEX_CACHE_SIZE = 4096;

/** A routing identity as hex, frames joined with dots (how logs and `ctx.peer` show it). */
export function identityHex(identity: readonly Buffer[]): string {
  if (identity.length !== 1) return identity.map((frame) => frame.toString('hex')).join('.');
  // Every call's log line and CallEnd names its peer: the few peers a server
  // talks to get their hex made once, not per call.
  const frame = identity[0]!;
  if (frame.length !== 5 || frame[0] !== 0) return frame.toString('hex');
  const key = frame.readUInt32BE(1);
  let hex = hexOfPeer.get(key);
  if (hex === undefined) {
    if (hexOfPeer.size >= HEX_CACHE_SIZE) hexOfPeer.clear();
    hex = frame.toString('hex');
    hexOfPeer.set(key, hex);
  }
  return hex;
}

/**
 * The open channels, keyed by (peer, channel id) as PROTOCOL.md §3 wants:
 * two peers may use the same id. Keeps a count per peer for the flood guard.
 */
export class PeerChannels<T> {
  private readonly peers = new Map<PeerKey, Map<string, T>>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  countOf(peer: PeerKey): number {
    return this.peers.get(peer)?.size ?? 0;
  }

  get(peer: PeerKey, id: string): T | undefined {
    return this.peers.get(peer)?.get(id);
  }

  add(peer: PeerKey, id: string, value: T): void {
    let channels = this.peers.get(peer);
    if (channels === undefined) this.peers.set(peer, (channels = new Map()));
    if (!channels.has(id)) this.total++;
    channels.set(id, value);
  }

  delete(peer: PeerKey, id: string): void {
    const channels = this.peers.get(peer);
    if (!channels?.delete(id)) return;
    this.total--;
    if (channels.size === 0) this.peers.delete(peer);
  }

  /** The channels `peer` holds now (a copy: closing them while iterating is safe). */
  valuesOf(peer: PeerKey): T[] {
    return [...(this.peers.get(peer)?.values() ?? [])];
  }

  *values(): IterableIterator<T> {
    for (const channels of this.peers.values()) yield* channels.values();
  }
}
