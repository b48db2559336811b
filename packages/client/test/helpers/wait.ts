import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Poll until `condition` holds; fail after `timeoutMs` (a bound against
 * hangs, not a speed assertion).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
