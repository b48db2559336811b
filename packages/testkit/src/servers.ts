import { afterAll, afterEach, beforeAll } from 'vitest';
import type { FakeClock } from './fake-clock.js';

/**
 * What these helpers need of a zrpc `Server` (typed by shape: the testkit
 * depends on no zrpc package, so that every package's tests can use it,
 * @zrpc/server's own included, with the `Server` of its sources).
 */
export interface ServerLike {
  bind(endpoint: string): Promise<void>;
  readonly endpoints: readonly string[];
  close(options?: { graceMs?: number; drainMs?: number }): Promise<void>;
}

/** Something a test opened and must close. */
export interface Closable {
  close(): unknown;
}

/** A logger that remembers what it was told, for tests that check logging (and keeps the output quiet). */
export function quietLogger() {
  const lines: Array<{ level: string; args: unknown[] }> = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push({ level, args });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Bind `server` to a fresh loopback port (or `endpoint`); answers it and where it listens. */
export async function startServer<S extends ServerLike>(
  server: S,
  endpoint = 'tcp://127.0.0.1:*',
): Promise<{ server: S; endpoint: string }> {
  await server.bind(endpoint);
  return { server, endpoint: server.endpoints[0]! };
}

/**
 * Close `server` at once: calls in flight are cancelled (no grace), nothing
 * is kept for late readers. A server on a `FakeClock` waits on that clock
 * while it cancels calls: pass it, and fake time moves until it is closed.
 */
export async function closeServer(server: ServerLike, clock?: FakeClock): Promise<void> {
  const closing = server.close({ graceMs: 0, drainMs: 0 });
  if (clock === undefined) await closing;
  else await clock.run(closing);
}

/**
 * Servers and clients opened by a test, closed after each test of the file
 * that calls this (in reverse order: clients before the servers they talk
 * to, so nothing is left in flight).
 */
export function closedAfterEach(): {
  /** Close `thing` after this test; answers it. */
  add<T extends Closable>(thing: T): T;
  /** Start `server` (see `startServer`) and close it after this test (see `closeServer`). */
  server<S extends ServerLike>(
    server: S,
    options?: { clock?: FakeClock; endpoint?: string },
  ): Promise<{ server: S; endpoint: string }>;
} {
  const open: Array<() => unknown> = [];
  afterEach(async () => {
    for (const close of open.splice(0).reverse()) await close();
  });
  return {
    add(thing) {
      open.push(() => thing.close());
      return thing;
    },
    async server(server, options = {}) {
      open.push(() => closeServer(server, options.clock));
      return startServer(server, options.endpoint);
    },
  };
}

/**
 * One server for a whole test file: made and started before its tests,
 * closed after them. Read `server` and `endpoint` inside tests (they are set
 * once the file's `beforeAll` has run).
 */
export function serverPerFile<S extends ServerLike>(
  make: () => S,
): { server: S; endpoint: string } {
  const running = {} as { server: S; endpoint: string };
  beforeAll(async () => {
    Object.assign(running, await startServer(make()));
  });
  afterAll(() => closeServer(running.server));
  return running;
}
