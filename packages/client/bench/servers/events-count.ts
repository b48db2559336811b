import type { Ready } from '../children.js';

/**
 * The bench's side of an events child: the parent says how many events to
 * expect (`{ expect: n }`, acknowledged with `{ expecting: n }`), the child
 * answers `{ ran: n }` once that many ran; `{ rss: true }` is answered with
 * the child's resident set size.
 */
export function countEvents(): () => void {
  let expected = Number.POSITIVE_INFINITY;
  let ran = 0;
  process.on('message', (message: { expect?: number; rss?: boolean }) => {
    if (message.expect !== undefined) {
      expected = message.expect;
      ran = 0;
      process.send?.({ expecting: expected });
    }
    if (message.rss) process.send?.({ rss: process.memoryUsage().rss });
  });
  return () => {
    if (++ran === expected) process.send?.({ ran });
  };
}

export type { Ready };
