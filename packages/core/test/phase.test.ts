import { describe, expect, it } from 'vitest';
import { type Moves, move, PhaseError } from '../src/protocol.js';

type Light = 'red' | 'green' | 'amber';
const LIGHT: Moves<Light> = { red: ['green'], green: ['amber'], amber: ['red'] };

describe('move', () => {
  it('answers the next phase when the table allows the move', () => {
    const next = { name: 'green' as const, since: 3 };
    expect(move('a light', LIGHT, { name: 'red' }, next)).toBe(next);
  });

  it('refuses a move the table does not list, naming what moved and both phases', () => {
    expect(() => move('a light', LIGHT, { name: 'red' }, { name: 'amber' })).toThrow(PhaseError);
    expect(() => move('a light', LIGHT, { name: 'red' }, { name: 'amber' })).toThrow(
      'a light: no move from red to amber',
    );
    expect(() => move('a light', LIGHT, { name: 'green' }, { name: 'green' })).toThrow(PhaseError);
  });
});
