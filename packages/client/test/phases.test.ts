// The client exchange's phase table: every move it does not list is refused.
import { move, PhaseError } from '@zrpc/core/protocol';
import { describe, expect, it } from 'vitest';
import { EXCHANGE_MOVES } from '../src/exchange.js';

type Name = keyof typeof EXCHANGE_MOVES;
const names = Object.keys(EXCHANGE_MOVES) as Name[];

describe('a client exchange: the moves its table refuses', () => {
  for (const from of names) {
    for (const to of names.filter((name) => !EXCHANGE_MOVES[from].includes(name))) {
      it(`${from} -> ${to}`, () => {
        expect(() =>
          move('a client exchange', EXCHANGE_MOVES, { name: from }, { name: to }),
        ).toThrow(PhaseError);
      });
    }
  }

  it('an exchange only ever ends after its request was queued', () => {
    expect(EXCHANGE_MOVES.new).toEqual(['queued']);
    expect(EXCHANGE_MOVES.ended).toEqual([]);
  });
});
