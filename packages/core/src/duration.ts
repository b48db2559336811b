/** Node's timers take at most this many ms (longer ones fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether `value` is a duration option's value: a positive number of ms a Node timer can wait. */
export function isDurationMs(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= MAX_TIMER_MS;
}

/**
 * A duration option, checked: a positive number of ms that a Node timer can
 * wait. Anything else is a RangeError naming the option.
 */
export function durationMs(option: string, value: unknown): number {
  if (!isDurationMs(value)) {
    throw new RangeError(
      `${option} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(value)}`,
    );
  }
  return value;
}
