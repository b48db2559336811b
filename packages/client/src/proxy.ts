/** Anything with a `call(method, ...args)`. */
interface Callable {
  call(method: string, ...args: unknown[]): unknown;
}

/**
 * The original zerorpc style: `client.get_ticket()` calls the remote
 * `get_ticket`. A Proxy is put at the far end of `prototype`'s chain, so
 * that only a property no real member answers (own, inherited, or from
 * Object.prototype) reaches it and becomes a remote method. Real members are
 * found before it at no extra cost, whereas a Proxy around each instance
 * would trap every read, `this.x` in the client's own methods included.
 * `then` is never a remote method, so that a client is not a thenable
 * (awaiting it, or returning it from an async function, must not call the
 * server).
 */
export function withRemoteMethods(prototype: Callable): void;
/** The same for an object whose remote methods go through its method `via` (a Pusher's `push`). */
export function withRemoteMethods(prototype: object, via: string): void;
export function withRemoteMethods(prototype: object, via = 'call'): void {
  const parent = Object.getPrototypeOf(prototype) as object;
  const fallback = new Proxy(parent, {
    get(target, property, receiver: Record<string, (...args: unknown[]) => unknown>) {
      if (typeof property !== 'string' || property in target || property === 'then') {
        return Reflect.get(target, property, receiver);
      }
      return (...args: unknown[]) => receiver[via]!(property, ...args);
    },
  });
  Object.setPrototypeOf(prototype, fallback);
}
