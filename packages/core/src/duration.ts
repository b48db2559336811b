// Node's timers take at most this many ms (longer ones fire at once).
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration option, checked: a positive number of ms that a Node timer can
 * wait. Anything else is a RangeError naming the option.
 */
export function durationMs(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMER_MS)) {
    throw new RangeError(
      `${option} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(value)}`,
    );
  }
  return value;
}
