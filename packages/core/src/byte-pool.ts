/**
 * Copies of small encoded events, cut from shared 8 KiB slabs the way
 * node's Buffer pool does it: a fresh ArrayBuffer per event costs more than
 * encoding it (V8 keeps only typed arrays of at most 64 bytes on its heap),
 * a view of a slab costs little. The copies stay plain Uint8Arrays, not
 * Buffers, so that what is decoded from them is the same either way.
 */
const SLAB_SIZE = 8 * 1024;
/**
 * Larger copies get an ArrayBuffer of their own: they would use slabs up
 * fast, and beside the cost of encoding them, an allocation is small.
 */
const MAX_POOLED = SLAB_SIZE / 4;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/** A copy of `source[0, length)` that nothing else will write to. */
export function copyOf(source: Uint8Array, length: number): Uint8Array {
  if (length > MAX_POOLED) return source.slice(0, length);
  if (used + length > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  slab.set(source.subarray(0, length), used);
  const copy = new Uint8Array(slab.buffer, used, length);
  used += length;
  return copy;
}
