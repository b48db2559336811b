/**
 * The open channels, keyed by (peer, channel id) as PROTOCOL.md §3 wants:
 * two peers may use the same id. Keeps a count per peer for the flood guard.
 */
export class PeerChannels<T> {
  private readonly peers = new Map<string, Map<string, T>>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  countOf(peer: string): number {
    return this.peers.get(peer)?.size ?? 0;
  }

  get(peer: string, id: string): T | undefined {
    return this.peers.get(peer)?.get(id);
  }

  add(peer: string, id: string, value: T): void {
    let channels = this.peers.get(peer);
    if (channels === undefined) this.peers.set(peer, (channels = new Map()));
    if (!channels.has(id)) this.total++;
    channels.set(id, value);
  }

  delete(peer: string, id: string): void {
    const channels = this.peers.get(peer);
    if (!channels?.delete(id)) return;
    this.total--;
    if (channels.size === 0) this.peers.delete(peer);
  }

  *values(): IterableIterator<T> {
    for (const channels of this.peers.values()) yield* channels.values();
  }
}
