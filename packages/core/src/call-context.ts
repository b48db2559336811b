import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerCallContext } from './middleware.js';

// One store per process, even when two copies of @zrpc/core are installed:
// a client must see the server call it is made from.
const key = Symbol.for('@zrpc/core/call-storage');
const storage: AsyncLocalStorage<ServerCallContext> = ((globalThis as any)[key] ??=
  new AsyncLocalStorage<ServerCallContext>());

/** The server call the current code runs in, if any (handlers, middleware, streams). */
export function currentCall(): ServerCallContext | undefined {
  return storage.getStore();
}

/** The current call's AbortSignal: it fires on a lost client, shutdown or timeout. */
export function callSignal(): AbortSignal | undefined {
  return storage.getStore()?.signal;
}

/**
 * Run `fn(arg)` as part of the server call `ctx` (used by the server around
 * each call); `arg` spares the caller a closure per call.
 */
export function runInCall<T, A = undefined>(ctx: ServerCallContext, fn: (arg: A) => T, arg?: A): T {
  return storage.run(ctx, fn, arg as A);
}
