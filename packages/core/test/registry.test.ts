import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { arityError, DuplicateMethodError, type MethodSpec, Registry, rpc } from '../src/index.js';
import { workerFunction } from '../src/protocol.js';
import { readParameters } from '../src/signature.js';
import { scenario } from './support/vectors.js';

/** A function nobody named: neither a declaration nor assigned to a name. */
const anonymous = [(a: number) => a][0]!;

describe('Registry', () => {
  it('register(options)(fn) returns fn unchanged and records the options', () => {
    const registry = new Registry();
    function count(n: number) {
      return n;
    }
    const returned = registry.register({
      name: 'counter',
      stream: true,
      doc: 'Counts to n.',
      args: ['n', { name: 'step', optional: true, default: 1 }],
    })(count);
    expect(returned).toBe(count);
    const spec = registry.get('counter')!;
    expect(spec).toMatchObject({ name: 'counter', fn: count, stream: true, doc: 'Counts to n.' });
    expect(spec.args).toEqual([{ name: 'n' }, { name: 'step', optional: true, default: 1 }]);
    expect([spec.minArgs, spec.maxArgs]).toEqual([1, 2]);
  });

  it('register(fn) names the method after the function and reads its parameters', () => {
    const registry = new Registry();
    const add = (a: number, b = 2) => a + b;
    expect(registry.register(add)).toBe(add);
    expect(registry.get('add')).toEqual({
      name: 'add',
      fn: add,
      stream: false,
      doc: null,
      args: [{ name: 'a' }, { name: 'b', optional: true, default: 2 }],
      minArgs: 1,
      maxArgs: 2,
      worker: undefined,
    } satisfies MethodSpec);
  });

  it('register(fn, options) and register()(fn) work too', () => {
    const registry = new Registry();
    function hello(name: string) {
      return `Hello, ${name}`;
    }
    expect(registry.register(hello, { name: 'greet', doc: 'Greets.' })).toBe(hello);
    expect(registry.register()(hello)).toBe(hello);
    expect(registry.list().map((m) => [m.name, m.doc])).toEqual([
      ['greet', 'Greets.'],
      ['hello', null],
    ]);
  });

  it('the argument list given in options wins over the source (bound functions have none)', () => {
    const registry = new Registry();
    const bound = function scale(this: { k: number }, x: number) {
      return this.k * x;
    }.bind({ k: 2 });
    registry.register(bound, { name: 'scale' });
    expect(registry.get('scale')!.args).toEqual([]);
    registry.register(bound, { name: 'scale2', args: ['x'] });
    expect(registry.get('scale2')).toMatchObject({ args: [{ name: 'x' }], minArgs: 1, maxArgs: 1 });
  });

  it('a duplicate name is a DuplicateMethodError naming the method; the first stays', () => {
    const registry = new Registry();
    const first = () => 1;
    registry.register(first, { name: 'ping' });
    const error = (() => {
      try {
        registry.register(() => 2, { name: 'ping' });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(DuplicateMethodError);
    expect((error as DuplicateMethodError).method).toBe('ping');
    expect((error as Error).message).toContain('"ping"');
    expect(registry.get('ping')!.fn).toBe(first);
  });

  it('an anonymous function needs a name', () => {
    const registry = new Registry();
    expect(anonymous.name).toBe('');
    expect(() => registry.register(anonymous)).toThrow(/needs a name/);
    expect(registry.register({ name: 'ident' })(anonymous)).toBe(anonymous);
  });

  it('refuses what is not a function', () => {
    expect(() => new Registry().register({ name: 'x' })(42 as never)).toThrow(TypeError);
  });

  describe('a generator function must be registered as a stream', () => {
    function* countdown(n: number) {
      for (let i = n; i > 0; i--) yield i;
    }
    async function* ticks(n: number) {
      for (let i = 0; i < n; i++) yield i;
    }
    const refusal = (name: string) =>
      `${name} is a generator function: register it with { stream: true } to stream its items`;

    it.each([
      ['register(fn)', (r: Registry) => r.register(countdown), 'countdown'],
      ['register(fn, options)', (r: Registry) => r.register(ticks, { doc: 'Ticks.' }), 'ticks'],
      ['register(options)(fn)', (r: Registry) => r.register({ name: 'down' })(countdown), 'down'],
      ['{ stream: false }', (r: Registry) => r.register(countdown, { stream: false }), 'countdown'],
      ['a worker method', (r: Registry) => r.register(ticks, { worker: true }), 'ticks'],
    ])(
      '%s: refused with a TypeError naming the method; nothing is registered',
      (_, register, name) => {
        const registry = new Registry();
        expect(() => register(registry)).toThrow(new TypeError(refusal(name)));
        expect(registry.list()).toEqual([]);
      },
    );

    it('with { stream: true }, sync and async generators register as streams', () => {
      const registry = new Registry();
      expect(registry.register(countdown, { stream: true })).toBe(countdown);
      registry.register({ stream: true, worker: true })(ticks);
      expect(registry.list().map((m) => [m.name, m.stream])).toEqual([
        ['countdown', true],
        ['ticks', true],
      ]);
    });

    it('a plain function returning an iterable is left alone (it may be one value)', () => {
      const registry = new Registry();
      registry.register(function pair() {
        return [1, 2];
      });
      expect(registry.get('pair')!.stream).toBe(false);
    });
  });

  it('registries are isolated from each other and from the default rpc', () => {
    const a = new Registry();
    const b = new Registry();
    a.register(function only() {});
    expect(a.get('only')).toBeDefined();
    expect(b.get('only')).toBeUndefined();
    expect(rpc.get('only')).toBeUndefined();
    expect(rpc).toBeInstanceOf(Registry);
    b.register(function only() {});
    expect(b.get('only')!.fn).not.toBe(a.get('only')!.fn);
  });
});

describe('readParameters', () => {
  const names = (fn: Function) => readParameters(fn).map((a) => a.name);

  it.each([
    [
      'a plain function',
      function add(a: number, b: number) {
        return a + b;
      },
    ],
    [
      'an async function',
      async function add(a: number, b: number) {
        return a + b;
      },
    ],
    [
      'a generator',
      function* add(a: number, b: number) {
        yield a + b;
      },
    ],
    [
      'an async generator',
      async function* add(a: number, b: number) {
        yield a + b;
      },
    ],
    ['an arrow', (a: number, b: number) => a + b],
    ['an async arrow', async (a: number, b: number) => a + b],
    [
      'a method',
      {
        add(a: number, b: number) {
          return a + b;
        },
      }.add,
    ],
  ])('reads %s', (_label, fn) => {
    expect(readParameters(fn)).toEqual([{ name: 'a' }, { name: 'b' }]);
  });

  it('reads a single-parameter arrow without parentheses, async or not', () => {
    expect(readParameters(new Function('return x => x')())).toEqual([{ name: 'x' }]);
    expect(readParameters(new Function('return async x => x')())).toEqual([{ name: 'x' }]);
  });

  it('reads no parameters', () => {
    expect(readParameters(() => 1)).toEqual([]);
    expect(readParameters(function none() {})).toEqual([]);
  });

  it('keeps JSON-like literal defaults as values', () => {
    const fn = new Function(
      `return function f(a, b = 1, c = -2.5, d = "two", e = 'three', f = true, g = null,
        h = [1, {"k": null}], i = {"x": [true]}, j = undefined) {}`,
    )();
    expect(readParameters(fn)).toEqual([
      { name: 'a' },
      ...[
        ['b', 1],
        ['c', -2.5],
        ['d', 'two'],
        ['e', 'three'],
        ['f', true],
        ['g', null],
        ['h', [1, { k: null }]],
        ['i', { x: [true] }],
        ['j', null],
      ].map(([name, value]) => ({ name, optional: true, default: value })),
    ]);
  });

  it('reads single-quoted strings with escapes and double quotes', () => {
    const fn = new Function(
      String.raw`return function f(a = 'it\'s', b = 'say "hi"', c = 'tab\there', d = '(,)') {}`,
    )();
    expect(readParameters(fn).map((a) => a.default)).toEqual([
      "it's",
      'say "hi"',
      'tab\there',
      '(,)',
    ]);
  });

  it('a non-literal default makes the parameter optional, with no value', () => {
    const fn = new Function(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
      'return function f(a, b = a + 1, c = Math.max(1, 2), d = {x: 1}, e = `t${a}`, g = () => 1) {}',
    )();
    expect(readParameters(fn)).toEqual([
      { name: 'a' },
      ...['b', 'c', 'd', 'e', 'g'].map((name) => ({ name, optional: true })),
    ]);
  });

  it('reads a rest parameter', () => {
    expect(readParameters((first: number, ...others: number[]) => [first, others])).toEqual([
      { name: 'first' },
      { name: 'others', rest: true },
    ]);
  });

  it('names destructured parameters argN', () => {
    const fn = new Function('return function f({ a, b }, [c, d] = [1, 2], e, ...[f, g]) {}')();
    expect(readParameters(fn)).toEqual([
      { name: 'arg0' },
      { name: 'arg1', optional: true, default: [1, 2] },
      { name: 'e' },
      { name: 'arg3', rest: true },
    ]);
  });

  it('ignores comments, whatever they hold', () => {
    const fn = new Function(`return function f(
      a, // the first, (really)
      /* b, c */ b /* = 3 */,
      c = /* a default: */ 'x' // 'y', z
    ) {}`)();
    expect(readParameters(fn)).toEqual([
      { name: 'a' },
      { name: 'b' },
      { name: 'c', optional: true, default: 'x' },
    ]);
  });

  it('keeps comment-like text inside string defaults', () => {
    const fn = new Function(`return function f(url = 'http://x/*y*/', b) {}`)();
    expect(readParameters(fn)).toEqual([
      { name: 'url', optional: true, default: 'http://x/*y*/' },
      { name: 'b' },
    ]);
  });

  describe('functions compiled by TypeScript', () => {
    const source = `
      /** Adds. */
      export function add(a: number, b: number = 2): number { return a + b; }
      export async function* items(n: number, { limit }: { limit: number } = { limit: 1 }, ...tags: string[]) {
        yield n + limit + tags.length;
      }
      export const greet = async (name: string, greeting: string = 'hello' /* English */) =>
        greeting + ' ' + name;
      export const one = (n: number): number => n;
      export function maybe(a: number, b?: string, c: string | undefined = undefined) { return [a, b, c]; }
    `;
    const compile = (target: ts.ScriptTarget): Record<string, Function> => {
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { target, module: ts.ModuleKind.CommonJS },
      });
      const exports: Record<string, Function> = {};
      new Function('exports', outputText)(exports);
      return exports;
    };

    // From ES2018 on, TypeScript keeps parameter lists as written; below it,
    // async generators are wrapped in a helper whose own parameters differ.
    it.each([
      ['ES2022', ts.ScriptTarget.ES2022],
      ['ES2018', ts.ScriptTarget.ES2018],
    ])('target %s', (_label, target) => {
      const compiled = compile(target);
      expect(readParameters(compiled.add!)).toEqual([
        { name: 'a' },
        { name: 'b', optional: true, default: 2 },
      ]);
      expect(readParameters(compiled.items!)).toEqual([
        { name: 'n' },
        { name: 'arg1', optional: true },
        { name: 'tags', rest: true },
      ]);
      expect(readParameters(compiled.greet!)).toEqual([
        { name: 'name' },
        { name: 'greeting', optional: true, default: 'hello' },
      ]);
      expect(names(compiled.one!)).toEqual(['n']);
      // `b?: string` leaves no trace in JavaScript: it reads as required.
      // A default (`= undefined`) is what makes a parameter optional.
      expect(readParameters(compiled.maybe!)).toEqual([
        { name: 'a' },
        { name: 'b' },
        { name: 'c', optional: true, default: null },
      ]);
    });
  });
});

describe('arityError', () => {
  const spec = (fn: Function, name = fn.name) => {
    const registry = new Registry();
    registry.register({ name })(fn as (...args: unknown[]) => unknown);
    return registry.get(name)!;
  };
  const add = spec(function add(a: number, b: number) {
    return a + b;
  });

  it('is undefined when the count fits', () => {
    expect(arityError(add, 2)).toBeUndefined();
  });

  it('names the method, its arguments and the missing ones', () => {
    expect(arityError(add, 1)).toBe("add(a, b) missing 1 required positional argument: 'b'");
    expect(arityError(add, 0)).toBe("add(a, b) missing 2 required positional arguments: 'a', 'b'");
  });

  it("reads like the reference's message for the recorded wrong-arity call", () => {
    const [, theirs] = scenario('zerorpc-python-server.json', 'wrong_arity').client_saw
      .remote_error!;
    const tail = (message: string) => message.slice(message.indexOf(') ') + 2);
    expect(tail(arityError(add, 1)!)).toBe(tail(theirs));
  });

  it('too many arguments', () => {
    expect(arityError(add, 3)).toBe('add(a, b) takes 2 positional arguments but 3 were given');
    expect(
      arityError(
        spec(function one(a: number) {
          return a;
        }),
        2,
      ),
    ).toBe('one(a) takes 1 positional argument but 2 were given');
    expect(
      arityError(
        spec(function none() {}),
        1,
      ),
    ).toBe('none() takes 0 positional arguments but 1 was given');
  });

  it('defaults widen the range', () => {
    const scale = spec(new Function('return function scale(x, k = 2, unit = "m") {}')());
    expect([0, 1, 2, 3, 4].map((n) => arityError(scale, n))).toEqual([
      "scale(x, k, unit) missing 1 required positional argument: 'x'",
      undefined,
      undefined,
      undefined,
      'scale(x, k, unit) takes from 1 to 3 positional arguments but 4 were given',
    ]);
  });

  it('a rest parameter takes any number beyond the required ones', () => {
    const log = spec(function log(level: string, ...parts: unknown[]) {
      return [level, parts];
    });
    expect(arityError(log, 0)).toBe(
      "log(level, ...parts) missing 1 required positional argument: 'level'",
    );
    expect(arityError(log, 1)).toBeUndefined();
    expect(arityError(log, 100)).toBeUndefined();
  });
});

describe('worker methods', () => {
  it('`worker: true` records the registering module, as a file URL, and makes the function findable there', () => {
    const registry = new Registry();
    const crunch = (n: number) => n * 2;
    registry.register(crunch, { worker: true });
    const spec = registry.get('crunch')!;
    expect(spec.worker).toBe(pathToFileURL(fileURLToPath(import.meta.url)).href);
    expect(workerFunction(spec.worker!, 'crunch')).toBe(crunch);
    // The decorator form finds the same module.
    registry.register({ name: 'crunch2', worker: true })(crunch);
    expect(registry.get('crunch2')!.worker).toBe(spec.worker);
  });

  it('an explicit module (URL or path) is kept as a file URL; loop methods have none', () => {
    const registry = new Registry();
    registry.register((a: number) => a, { name: 'byUrl', worker: 'file:///srv/app/rpcs.js' });
    registry.register((a: number) => a, { name: 'byPath', worker: '/srv/app/rpcs.js' });
    registry.register((a: number) => a, { name: 'onLoop', worker: false });
    expect(registry.get('byUrl')!.worker).toBe('file:///srv/app/rpcs.js');
    expect(registry.get('byPath')!.worker).toBe('file:///srv/app/rpcs.js');
    expect(registry.get('onLoop')!.worker).toBeUndefined();
  });

  it('refuses a module a worker could not import', () => {
    const registry = new Registry();
    expect(() => registry.register((a: number) => a, { name: 'rel', worker: 'rpcs.js' })).toThrow(
      'rel: { worker } must be a file URL or an absolute path, got "rpcs.js"',
    );
    expect(registry.get('rel')).toBeUndefined();
  });

  it('a stream method may run on workers too', () => {
    const registry = new Registry();
    function* items() {
      yield 1;
    }
    registry.register(items, { stream: true, worker: true });
    expect(registry.get('items')).toMatchObject({ stream: true, worker: expect.any(String) });
  });
});
