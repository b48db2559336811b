import type { Ready } from '../children.js';

/**
 * Tell the parent bench where this server listens, and stop with it: the
 * IPC channel closes when the parent dies, even by SIGKILL.
 */
export function announce(endpoint: string, stop: () => Promise<void> | void, admin?: string): void {
  const ready: Ready = { endpoint, ...(admin !== undefined && { admin }) };
  process.send?.(ready);
  const exit = async () => {
    await stop();
    process.exit(0);
  };
  process.once('disconnect', exit);
  process.once('SIGTERM', exit);
}
