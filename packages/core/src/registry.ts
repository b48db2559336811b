import { type ArgSpec, readParameters } from './signature.js';

export type { ArgSpec } from './signature.js';

/** Anything callable with positional RPC arguments. */
export type RpcFunction = (...args: any[]) => unknown;

export interface RegisterOptions {
  /** The RPC name; defaults to the function's own name. */
  name?: string;
  /** The method streams: it returns an Iterable or AsyncIterable (a generator, say). */
  stream?: boolean;
  /** Documentation shown by `_zerorpc_help` and `_zerorpc_inspect`. */
  doc?: string;
  /**
   * Argument names (or specs) for introspection and arity checks, when the
   * function's source does not tell them (bound or minified functions).
   */
  args?: Array<string | ArgSpec>;
}

/** A registered method, as dispatch and introspection see it. */
export interface MethodSpec {
  readonly name: string;
  readonly fn: RpcFunction;
  readonly stream: boolean;
  readonly doc: string | null;
  readonly args: readonly ArgSpec[];
  /** Fewest positional arguments the method accepts. */
  readonly minArgs: number;
  /** Most positional arguments it accepts (Infinity with a rest parameter). */
  readonly maxArgs: number;
}

/** Thrown by `register` for a name already taken in the same registry. */
export class DuplicateMethodError extends Error {
  override name = 'DuplicateMethodError';
  constructor(readonly method: string) {
    super(`an RPC method named "${method}" is already registered`);
  }
}

/**
 * The set of methods a server exposes. Most code uses the default `rpc`
 * registry; a `new Registry()` keeps a set apart (tests, several servers).
 */
export class Registry {
  private readonly methods = new Map<string, MethodSpec>();

  /**
   * `rpc.register({ name?, stream? })(fn)` registers `fn` and returns it
   * unchanged, like the Django decorator it ports. Also `rpc.register(fn)`.
   */
  register(options?: RegisterOptions): <F extends RpcFunction>(fn: F) => F;
  register<F extends RpcFunction>(fn: F, options?: RegisterOptions): F;
  register(fnOrOptions?: RpcFunction | RegisterOptions, maybeOptions?: RegisterOptions): unknown {
    if (typeof fnOrOptions === 'function') return this.add(fnOrOptions, maybeOptions ?? {});
    const options = fnOrOptions ?? {};
    return <F extends RpcFunction>(fn: F): F => this.add(fn, options);
  }

  /** The method registered under `name`, if any. */
  get(name: string): MethodSpec | undefined {
    return this.methods.get(name);
  }

  /** Every registered method, in registration order. */
  list(): MethodSpec[] {
    return [...this.methods.values()];
  }

  private add<F extends RpcFunction>(fn: F, options: RegisterOptions): F {
    if (typeof fn !== 'function') throw new TypeError('register() expects a function');
    const name = options.name ?? fn.name;
    if (!name) throw new TypeError('register() needs a name for an anonymous function');
    const args = options.args
      ? options.args.map((a) => (typeof a === 'string' ? { name: a } : a))
      : readParameters(fn);
    const rest = args.some((a) => a.rest);
    const positional = args.filter((a) => !a.rest);
    const firstOptional = positional.findIndex((a) => a.optional);
    this.insert({
      name,
      fn,
      stream: options.stream ?? false,
      doc: options.doc ?? null,
      args,
      minArgs: firstOptional < 0 ? positional.length : firstOptional,
      maxArgs: rest ? Number.POSITIVE_INFINITY : positional.length,
    });
    return fn;
  }

  private insert(spec: MethodSpec): void {
    if (this.methods.has(spec.name)) throw new DuplicateMethodError(spec.name);
    this.methods.set(spec.name, spec);
  }
}

/**
 * The default registry, filled by `rpc.register` in each app's `rpcs` module.
 * It is one per process, even when an app ends up with another copy of
 * @zrpc/core than the runner (a second install, or TypeScript compiled to
 * CommonJS on the fly): the runner serves what every app registered.
 */
export const rpc: Registry = ((globalThis as any)[Symbol.for('@zrpc/core/default-registry')] ??=
  new Registry());

/**
 * A Python-style arity message naming the method and its arguments, or
 * undefined when `count` arguments fit.
 */
export function arityError(spec: MethodSpec, count: number): string | undefined {
  if (count >= spec.minArgs && count <= spec.maxArgs) return undefined;
  const names = spec.args.map((a) => (a.rest ? `...${a.name}` : a.name)).join(', ');
  if (count < spec.minArgs) {
    const missing = spec.args.slice(count, spec.minArgs).map((a) => `'${a.name}'`);
    const plural = missing.length === 1 ? 'argument' : 'arguments';
    return `${spec.name}(${names}) missing ${missing.length} required positional ${plural}: ${missing.join(', ')}`;
  }
  const takes =
    spec.minArgs === spec.maxArgs ? `${spec.maxArgs}` : `from ${spec.minArgs} to ${spec.maxArgs}`;
  const plural = spec.maxArgs === 1 ? 'argument' : 'arguments';
  return `${spec.name}(${names}) takes ${takes} positional ${plural} but ${count} ${count === 1 ? 'was' : 'were'} given`;
}
