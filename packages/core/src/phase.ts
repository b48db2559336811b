/**
 * Named phases with guarded transitions, for the objects whose life has
 * steps (a server call, a client exchange, a peer's backlog): a phase says
 * what may happen next, where a set of flags would leave every combination
 * open. A move the table does not allow is a bug of ours and throws.
 */

/** For each phase, the phases it may move to. */
export type Moves<P extends string> = { readonly [From in P]: readonly P[] };

/** A move a phase table does not allow: a bug in zrpc, never the peer's doing. */
export class PhaseError extends Error {
  override name = 'PhaseError';
}

/** A phase value: its `name` is what the table knows; other fields are the phase's own data. */
export interface Named<P extends string> {
  readonly name: P;
}

/**
 * Answer `next` if `current` may move to it, else throw `PhaseError`
 * naming `what` moved and both phases.
 */
export function move<P extends string, T extends Named<P>>(
  what: string,
  moves: Moves<P>,
  current: Named<P>,
  next: T,
): T {
  if (!moves[current.name].includes(next.name)) {
    throw new PhaseError(`${what}: no move from ${current.name} to ${next.name}`);
  }
  return next;
}
