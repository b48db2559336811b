// The same rule as the server's ERR builder (`errArgs` in @zrpc/server).
// TODO: use `errorName` from @zrpc/core once it lands there.

/**
 * The error name an ERR reply carries for `error`: an Error subclass that
 * leaves `name` alone goes out as its constructor's name (`class ValueError
 * extends Error {}` is `ValueError`); a plain object keeps a string `name`
 * when it also has a string `message`; anything else is `Error`. Never throws.
 */
export function errorName(error: unknown): string {
  try {
    if (error instanceof Error) {
      if (typeof error.name === 'string' && error.name && error.name !== 'Error') return error.name;
      const ctor = error.constructor?.name;
      return ctor && ctor !== 'Object' ? ctor : 'Error';
    }
    if (typeof error === 'object' && error !== null) {
      const { name, message } = error as { name?: unknown; message?: unknown };
      if (typeof name === 'string' && typeof message === 'string') return name;
    }
  } catch {
    // A thrown value whose name or constructor throws when read.
  }
  return 'Error';
}
