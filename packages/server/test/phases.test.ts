// The server's phase tables (a call, its slot, a peer's backlog): every
// move a table does not list is refused with a PhaseError, and the
// objects refuse impossible moves when driven through their own methods.
import { type Moves, move, PhaseError } from '@zrpc/core/protocol';
import { describe, expect, it } from 'vitest';
import { BACKLOG_MOVES, Backlog, type Outgoing } from '../src/backlog.js';
import { SLOT_MOVES } from '../src/call-slot.js';
import { CALL_MOVES } from '../src/server-call.js';

function refusals<P extends string>(moves: Moves<P>): Array<[P, P]> {
  const names = Object.keys(moves) as P[];
  return names.flatMap((from) =>
    names.filter((to) => !moves[from].includes(to)).map((to): [P, P] => [from, to]),
  );
}

const tables: Array<[string, Moves<string>]> = [
  ['a server call', CALL_MOVES],
  ['a call slot', SLOT_MOVES],
  ['a peer backlog', BACKLOG_MOVES],
];

for (const [what, moves] of tables) {
  describe(`${what}: the moves its table refuses`, () => {
    for (const [from, to] of refusals(moves)) {
      it(`${from} -> ${to}`, () => {
        expect(() => move(what, moves, { name: from }, { name: to })).toThrow(PhaseError);
      });
    }
  });
}

describe('a peer backlog driven through its methods', () => {
  const out = (backlog: Backlog): Outgoing => ({ frames: [], bytes: 1, backlog });

  it('a flowing backlog has no queue to add to or take from', () => {
    const backlog = new Backlog(1, [Buffer.from('peer')]);
    expect(() => backlog.wait(out(backlog))).toThrow('a flowing backlog has no queue');
    expect(() => backlog.shift()).toThrow('a flowing backlog has no queue');
  });

  it('a blocked backlog keeps its messages in order and flows again once they are gone', () => {
    const backlog = new Backlog(1, [Buffer.from('peer')]);
    const [a, b] = [out(backlog), out(backlog)];
    backlog.block(a);
    backlog.wait(b);
    expect(() => backlog.block(out(backlog))).toThrow(PhaseError);
    expect(backlog.first).toBe(a);
    expect(backlog.shift()).toBe(false);
    expect(backlog.first).toBe(b);
    expect(backlog.shift()).toBe(true);
    expect(backlog.flowing).toBe(true);
  });

  it('a gone backlog answers what waited, once, and can never block again', () => {
    const backlog = new Backlog(1, [Buffer.from('peer')]);
    const a = out(backlog);
    backlog.block(a);
    expect(backlog.drop()).toEqual([a]);
    expect(backlog.gone).toBe(true);
    expect(backlog.drop()).toEqual([]);
    expect(() => backlog.block(out(backlog))).toThrow(
      'a peer backlog: no move from gone to blocked',
    );
  });
});
