import { setTimeout as sleep } from 'node:timers/promises';
import { nextTurns } from '@zrpc/testkit';
import { describe, expect, it } from 'vitest';
import { callSignal, currentCall, type ServerCallContext } from '../src/index.js';
import { runInCall } from '../src/protocol.js';

const call = (method: string): ServerCallContext => ({
  side: 'server',
  method,
  args: [],
  taskContext: {},
  signal: new AbortController().signal,
  state: new Map(),
  header: { message_id: method, v: 3 },
  replyHeader: {},
  peer: '00',
  stream: false,
  tracebacks: false,
});

describe('currentCall / runInCall', () => {
  it('there is no call outside runInCall', () => {
    expect(currentCall()).toBeUndefined();
    expect(callSignal()).toBeUndefined();
  });

  it('returns what the function returns', () => {
    expect(runInCall(call('m'), () => 42)).toBe(42);
  });

  it('the call stays current across awaits, timers and promise chains', async () => {
    const ctx = call('slow');
    const seen = await runInCall(ctx, async () => {
      const steps: unknown[] = [currentCall()];
      await sleep(5);
      steps.push(currentCall());
      await new Promise<void>((resolve) => setImmediate(resolve));
      steps.push(currentCall());
      steps.push(await Promise.resolve().then(() => currentCall()));
      return steps;
    });
    expect(seen).toEqual([ctx, ctx, ctx, ctx]);
    expect(currentCall()).toBeUndefined();
  });

  it('concurrent calls each see their own', async () => {
    const observe = (ctx: ServerCallContext, delays: number[]) =>
      runInCall(ctx, async () => {
        const seen: Array<string | undefined> = [];
        for (const turns of delays) {
          await nextTurns(turns);
          seen.push(currentCall()?.method);
        }
        return seen;
      });
    const [a, b] = await Promise.all([
      observe(call('a'), [4, 1, 4]),
      observe(call('b'), [1, 4, 1]),
    ]);
    expect(a).toEqual(['a', 'a', 'a']);
    expect(b).toEqual(['b', 'b', 'b']);
  });

  it('an async generator iterated inside the call sees it at every step', async () => {
    async function* stream() {
      for (let i = 0; i < 3; i++) {
        await nextTurns();
        yield currentCall()?.method;
      }
    }
    const items = await runInCall(call('stream'), async () => {
      const out: unknown[] = [];
      for await (const item of stream()) {
        out.push(item);
        await nextTurns();
      }
      return out;
    });
    expect(items).toEqual(['stream', 'stream', 'stream']);
  });

  it('nested calls see the inner one, then the outer again', async () => {
    const outer = call('outer');
    await runInCall(outer, async () => {
      await runInCall(call('inner'), async () => {
        await nextTurns();
        expect(currentCall()?.method).toBe('inner');
      });
      expect(currentCall()).toBe(outer);
    });
  });

  it("callSignal is the current call's AbortSignal", () => {
    const controller = new AbortController();
    const ctx = { ...call('m'), signal: controller.signal };
    runInCall(ctx, () => {
      expect(callSignal()).toBe(controller.signal);
      controller.abort(new Error('client lost'));
      expect(callSignal()?.aborted).toBe(true);
    });
  });

  it('uses one process-wide store, shared by every copy of @zrpc/core', () => {
    const shared = (globalThis as Record<symbol, unknown>)[
      Symbol.for('@zrpc/core/call-storage')
    ] as {
      getStore(): unknown;
    };
    const ctx = call('m');
    runInCall(ctx, () => expect(shared.getStore()).toBe(ctx));
  });
});
