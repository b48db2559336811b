import type { Registry } from '@zrpc/core';
import { BUILTIN_NAMES } from '../builtins.js';

/**
 * The label of a method no server method answers to, as the OpenTelemetry
 * RPC conventions name it: a caller can send any name, and each must not
 * become a series of its own.
 */
export const OTHER_METHOD = '_OTHER';

/**
 * A method name as a label: the name itself for a method the server
 * serves (registered, or a built-in `_zerorpc_*`), `_OTHER` for any other
 * name. The set of labels is then as small as the set of methods, whatever
 * callers send.
 */
export function methodLabeler(methods: Pick<Registry, 'get'>): (method: string) => string {
  return (method) =>
    BUILTIN_NAMES.has(method) || methods.get(method) !== undefined ? method : OTHER_METHOD;
}
