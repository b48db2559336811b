import type { Ready } from '../children.js';

/**
 * Tell the parent bench where this server listens, answer its questions
 * about this process's CPU time, and stop with it: the IPC channel closes
 * when the parent dies, even by SIGKILL.
 */
export function announce(endpoint: string, stop: () => Promise<void> | void, admin?: string): void {
  const ready: Ready = { endpoint, ...(admin !== undefined && { admin }) };
  process.send?.(ready);
  // `cpu`: this process's CPU time so far (user + system, all threads), in µs.
  process.on('message', (message) => {
    if (message !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuUs: user + system });
  });
  const exit = async () => {
    await stop();
    process.exit(0);
  };
  process.once('disconnect', exit);
  process.once('SIGTERM', exit);
}
