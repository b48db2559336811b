import { deferred, nextTurns } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { type CallContext, compose, type Middleware, taskContextOf } from '../src/index.js';
import { PROTOCOL_HEADER_KEYS } from '../src/protocol.js';

const context = (): CallContext => ({
  side: 'server',
  method: 'add',
  args: [1, 2],
  taskContext: {},
  signal: new AbortController().signal,
  state: new Map(),
});

/** A middleware that logs `<name> before` and `<name> after` around the rest. */
const logging =
  (log: string[], name: string): Middleware =>
  async (_ctx, next) => {
    log.push(`${name} before`);
    await next();
    log.push(`${name} after`);
  };

describe('compose', () => {
  it('runs the chain as an onion around the inner call', async () => {
    const log: string[] = [];
    const chain = compose([logging(log, 'a'), logging(log, 'b'), logging(log, 'c')]);
    await chain(context(), async () => {
      log.push('call');
    });
    expect(log).toEqual([
      'a before',
      'b before',
      'c before',
      'call',
      'c after',
      'b after',
      'a after',
    ]);
  });

  it('shares the context: what a middleware puts there, the call and the others see', async () => {
    const ctx = context();
    const chain = compose([
      async (c, next) => {
        c.state.set('tx', 'transaction-1');
        c.taskContext.trace_id = 'abc';
        await next();
      },
      async (c, next) => {
        expect(c.state.get('tx')).toBe('transaction-1');
        await next();
      },
    ]);
    let seen: unknown;
    await chain(ctx, async () => {
      seen = [ctx.state.get('tx'), ctx.taskContext.trace_id];
    });
    expect(seen).toEqual(['transaction-1', 'abc']);
  });

  it('propagates an error through every layer, skipping their after parts', async () => {
    const log: string[] = [];
    const boom = new Error('boom');
    const seen: unknown[] = [];
    const chain = compose([
      async (_ctx, next) => {
        try {
          await next();
        } catch (err) {
          seen.push(err);
          throw err;
        }
      },
      logging(log, 'inner'),
    ]);
    await expect(
      chain(context(), async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(log).toEqual(['inner before']);
    expect(seen).toEqual([boom]);
  });

  it('lets a middleware replace the error, or swallow it', async () => {
    const replaced = new Error('reported differently');
    const replacing = compose([
      async (_ctx, next) => {
        await next().catch(() => {
          throw replaced;
        });
      },
    ]);
    const failing = async () => {
      throw new Error('original');
    };
    await expect(replacing(context(), failing)).rejects.toBe(replaced);
    const swallowing = compose([async (_ctx, next) => void (await next().catch(() => {}))]);
    await expect(swallowing(context(), failing)).resolves.toBeUndefined();
  });

  it('a middleware may answer without calling next', async () => {
    let called = false;
    const chain = compose([async () => {}]);
    await chain(context(), async () => {
      called = true;
    });
    expect(called).toBe(false);
  });

  it('calling next() twice is an error', async () => {
    let calls = 0;
    const chain = compose([
      async (_ctx, next) => {
        await next();
        await next();
      },
    ]);
    await expect(
      chain(context(), async () => {
        calls++;
      }),
    ).rejects.toThrow('called next() twice');
    expect(calls).toBe(1);
  });

  it('a middleware that does not wait for next() fails the call with a MiddlewareError naming it', async () => {
    let innerFinished = false;
    const forgetful: Middleware = async function forgetful(_ctx, next) {
      next();
    };
    const chain = compose([logging([], 'outer'), forgetful]);
    const inner = deferred();
    const run = chain(context(), async () => {
      await inner.promise;
      innerFinished = true;
    });
    await expect(run).rejects.toMatchObject({
      name: 'MiddlewareError',
      message: expect.stringMatching(/middleware "forgetful" \(#2\).*await next\(\)/),
    });
    expect(innerFinished).toBe(false);
    inner.resolve();
  });

  it('the same for a synchronous middleware, and a later rejection downstream goes unhandled nowhere', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const chain = compose([
        ((_ctx: unknown, next: () => Promise<void>) => void next()) as unknown as Middleware,
      ]);
      const inner = deferred();
      const thrown = deferred();
      await expect(
        chain(context(), async () => {
          await inner.promise;
          thrown.resolve();
          throw new Error('late');
        }),
      ).rejects.toThrow(/middleware #1 finished before the rest of the chain/);
      inner.resolve();
      await thrown.promise;
      // Node reports an unhandled rejection once the microtasks of its turn have run.
      await nextTurns(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('returning next() without awaiting it is fine, and so is any thenable', async () => {
    const log: string[] = [];
    const thenable = (next: () => Promise<void>) => ({
      // A minimal thenable: calls back once the rest has finished, returns nothing.
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a thenable
      then(onFulfilled: () => void) {
        void next().then(onFulfilled);
      },
    });
    const chain = compose([
      (_ctx, next) => next(),
      ((_ctx: unknown, next: () => Promise<void>) => thenable(next)) as unknown as Middleware,
    ]);
    await chain(context(), async () => {
      await nextTurns();
      log.push('call');
    });
    expect(log).toEqual(['call']);
  });

  it('an empty chain runs the call alone', async () => {
    const chain = compose([]);
    let called = 0;
    await chain(context(), async () => {
      called++;
    });
    expect(called).toBe(1);
    const boom = new Error('boom');
    await expect(chain(context(), () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('a synchronous throw, in a middleware or in the call, becomes a rejection', async () => {
    const boom = new Error('sync');
    const throwing = (() => {
      throw boom;
    }) as unknown as Middleware;
    const chain = compose([throwing]);
    const result = chain(context(), async () => {});
    await expect(result).rejects.toBe(boom);

    const passThrough = compose([async (_ctx, next) => next()]);
    const syncInner = (() => {
      throw boom;
    }) as unknown as () => Promise<void>;
    await expect(passThrough(context(), syncInner)).rejects.toBe(boom);
  });

  it('refuses what is not a function, at composition time', () => {
    expect(() => compose([logging([], 'a'), 'nope' as unknown as Middleware])).toThrow(TypeError);
  });

  it('one composed chain serves concurrent calls independently', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const chain = compose([
      async (ctx, next) => {
        ctx.state.set('order', ctx.args[0]);
        await next();
      },
    ]);
    const first = context();
    const second = { ...context(), args: [2], state: new Map() };
    const slow = chain(first, () => gate);
    await chain(second, async () => {});
    release();
    await slow;
    expect([first.state.get('order'), second.state.get('order')]).toEqual([1, 2]);
  });
});

describe('taskContextOf', () => {
  it('keeps every header key but the protocol ones', () => {
    const header = {
      message_id: new Uint8Array([1]),
      v: 3,
      response_to: 'r',
      trace_id: 'abc',
      baggage: { tenant: 7 },
      zrpc_hb: 5000,
    };
    const context = taskContextOf(header);
    expect(context).toEqual({ trace_id: 'abc', baggage: { tenant: 7 } });
    expect([...PROTOCOL_HEADER_KEYS].sort()).toEqual(['message_id', 'response_to', 'v', 'zrpc_hb']);
    context.extra = 1;
    expect(header).not.toHaveProperty('extra');
  });

  it('is empty for a bare header', () => {
    expect(taskContextOf({ message_id: 'x', v: 3 })).toEqual({});
  });
});
