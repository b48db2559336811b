import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  /**
   * Run the method on the server's pool of worker threads, off the event
   * loop. A worker imports the module that registered the method and calls
   * what that module registers under the same name: `true` finds that module
   * from the call stack; a file URL or path (`import.meta.url`) names it,
   * for code whose stack does not tell (bundles, `eval`).
   */
  worker?: boolean | string;
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
  /** For a method that runs on worker threads: the file URL of the module that registered it. */
  readonly worker: string | undefined;
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
    if (options.stream !== true && isGeneratorFunction(fn)) {
      // Answered as one value, its generator object would reach the caller
      // as `{}`, while a typed client expects a stream: refuse it now.
      throw new TypeError(
        `${name} is a generator function: register it with { stream: true } to stream its items`,
      );
    }
    const args = options.args
      ? options.args.map((a) => (typeof a === 'string' ? { name: a } : a))
      : readParameters(fn);
    const rest = args.some((a) => a.rest);
    const positional = args.filter((a) => !a.rest);
    const firstOptional = positional.findIndex((a) => a.optional);
    const worker = workerModule(name, options);
    this.insert({
      name,
      fn,
      stream: options.stream ?? false,
      doc: options.doc ?? null,
      args,
      minArgs: firstOptional < 0 ? positional.length : firstOptional,
      maxArgs: rest ? Number.POSITIVE_INFINITY : positional.length,
      worker,
    });
    if (worker !== undefined) workerFunctions.set(workerKey(worker, name), fn);
    return fn;
  }

  private insert(spec: MethodSpec): void {
    if (this.methods.has(spec.name)) throw new DuplicateMethodError(spec.name);
    this.methods.set(spec.name, spec);
  }
}

/**
 * Whether `fn` is a `function*` or an `async function*` (from any realm).
 * A plain function that returns a generator cannot be told apart here.
 */
function isGeneratorFunction(fn: RpcFunction): boolean {
  const tag = Object.prototype.toString.call(fn);
  return tag === '[object GeneratorFunction]' || tag === '[object AsyncGeneratorFunction]';
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
 * Every function registered with `worker` in this thread, by module and
 * name: a worker thread imports the module, then finds the function here.
 * One per thread, whichever copy of @zrpc/core the module imported.
 */
const workerFunctions: Map<string, RpcFunction> = ((globalThis as any)[
  Symbol.for('@zrpc/core/worker-functions')
] ??= new Map());

function workerKey(module: string, name: string): string {
  return `${module}#${name}`;
}

/** The function `module` registered as the worker method `name`, once this thread imported it. */
export function workerFunction(module: string, name: string): RpcFunction | undefined {
  return workerFunctions.get(workerKey(module, name));
}

/** The module a worker method is imported from, as a file URL; undefined for a loop method. */
function workerModule(name: string, options: RegisterOptions): string | undefined {
  const { worker } = options;
  if (worker === undefined || worker === false) return undefined;
  const module = worker === true ? callerFile() : worker;
  if (module?.startsWith('file:')) return module;
  if (module && isAbsolute(module)) return pathToFileURL(module).href;
  throw new TypeError(
    module === undefined || worker === true
      ? `${name}: cannot tell which module registers it; pass { worker: import.meta.url }`
      : `${name}: { worker } must be a file URL or an absolute path, got ${JSON.stringify(module)}`,
  );
}

/** The file of the first stack frame outside this module: whoever called `register`. */
function callerFile(): string | undefined {
  const { prepareStackTrace, stackTraceLimit } = Error;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  let sites: NodeJS.CallSite[];
  try {
    Error.prepareStackTrace = (_, callSites) => callSites;
    Error.stackTraceLimit = 20;
    Error.captureStackTrace(holder);
    // Formatted on first read: read it while ours is in place.
    sites = Array.isArray(holder.stack) ? holder.stack : [];
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
  const own = sites[0]?.getFileName();
  for (const site of sites) {
    const file = site.getFileName();
    if (file && file !== own && !file.startsWith('node:')) return file;
  }
  return undefined;
}

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
