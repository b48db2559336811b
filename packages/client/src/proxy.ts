/** Anything with a `call(method, ...args)`. */
interface Callable {
  call(method: string, ...args: unknown[]): unknown;
}

/**
 * The original zerorpc style: `client.get_ticket()` calls the remote
 * `get_ticket`. Unknown string properties become remote methods; the real
 * members win; `then` is never proxied so that a client is not a thenable
 * (awaiting it, or returning it from an async function, must not call the
 * server).
 */
export function withRemoteMethods<T extends Callable>(target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property !== 'string' || property in object || property === 'then') {
        return Reflect.get(object, property, receiver);
      }
      return (...args: unknown[]) => object.call(property, ...args);
    },
  });
}
