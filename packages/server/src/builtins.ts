import { type ArgSpec, type MethodSpec, Registry } from '@zrpc/core';
import { NameError } from './errors.js';

/** A public method: what `_zerorpc_list` and `_zerorpc_inspect` show. */
const isPublic = (spec: MethodSpec): boolean => !spec.name.startsWith('_');

/**
 * The six `_zerorpc_*` methods every zerorpc server answers (PROTOCOL.md §8),
 * as a registry of their own: they are looked up before the user's methods,
 * checked for arity like them, and never listed among them.
 */
export function builtinMethods(registry: Registry, serverName: string): Registry {
  const builtins = new Registry();
  const find = (method: unknown): MethodSpec => {
    const spec =
      typeof method === 'string' ? (registry.get(method) ?? builtins.get(method)) : undefined;
    if (spec === undefined) throw new NameError(String(method));
    return spec;
  };
  const publicMethods = (): MethodSpec[] =>
    registry
      .list()
      .filter(isPublic)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  builtins.register(() => ['pong', serverName], {
    name: '_zerorpc_ping',
    args: [],
    doc: 'Answer ["pong", <server name>].',
  });
  builtins.register(() => serverName, {
    name: '_zerorpc_name',
    args: [],
    doc: "The server's name.",
  });
  builtins.register(() => publicMethods().map((spec) => spec.name), {
    name: '_zerorpc_list',
    args: [],
    doc: 'The public method names, sorted.',
  });
  builtins.register((method: unknown) => find(method).doc, {
    name: '_zerorpc_help',
    args: ['method'],
    doc: "A method's documentation, or null.",
  });
  builtins.register((method: unknown) => fullArgSpec(find(method)), {
    name: '_zerorpc_args',
    args: ['method'],
    doc: "A method's arguments, shaped like Python's inspect.getfullargspec().",
  });
  builtins.register(
    () => {
      const methods: Record<string, { args: InspectArg[]; doc: string | null }> = {};
      for (const spec of publicMethods()) {
        methods[spec.name] = {
          args: spec.args.filter((a) => !a.rest).map(inspectArg),
          doc: spec.doc,
        };
      }
      return { name: serverName, methods };
    },
    { name: '_zerorpc_inspect', args: [], doc: 'The server name and every public method.' },
  );
  return builtins;
}

interface InspectArg {
  name: string;
  default?: unknown;
}

// The reference lists positional parameters only (no `*args`) and gives a
// `default` to those that have one. Ours shows a default when the source
// spells it as a literal. There is no `self`: our methods are plain functions.
function inspectArg(arg: ArgSpec): InspectArg {
  return 'default' in arg ? { name: arg.name, default: arg.default } : { name: arg.name };
}

/**
 * `[args, varargs, varkw, defaults, kwonlyargs, kwonlydefaults, annotations]`,
 * what the reference's getfullargspec() puts on the wire. Defaults the
 * source does not spell as a literal show as null.
 */
function fullArgSpec(spec: MethodSpec): unknown[] {
  const positional = spec.args.filter((a) => !a.rest);
  const rest = spec.args.find((a) => a.rest);
  const firstOptional = positional.findIndex((a) => a.optional);
  const defaults =
    firstOptional < 0 ? null : positional.slice(firstOptional).map((a) => a.default ?? null);
  return [positional.map((a) => a.name), rest?.name ?? null, null, defaults, [], null, {}];
}

/** The names of the built-in methods (for labels that must stay a closed set, say). */
export const BUILTIN_NAMES: ReadonlySet<string> = new Set(
  builtinMethods(new Registry(), '')
    .list()
    .map((spec) => spec.name),
);
