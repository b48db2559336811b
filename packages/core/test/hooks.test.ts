import { describe, expect, it } from 'vitest';
import {
  type ClientCallContext,
  compose,
  fromZerorpcHooks,
  RemoteError,
  type ServerCallContext,
} from '../src/index.js';

const serverCtx = () =>
  ({
    side: 'server',
    method: 'm',
    args: [],
    taskContext: {},
    state: new Map(),
  }) as unknown as ServerCallContext;
const clientCtx = () =>
  ({
    side: 'client',
    method: 'm',
    args: [],
    taskContext: {},
    state: new Map(),
  }) as unknown as ClientCallContext;

describe('fromZerorpcHooks', () => {
  it('calls the server hooks around a successful call, in order', async () => {
    const seen: string[] = [];
    const { server } = fromZerorpcHooks({
      server_before_exec: () => void seen.push('before'),
      server_after_exec: () => void seen.push('after'),
      server_inspect_exception: () => void seen.push('inspect'),
    });
    await compose([server])(serverCtx(), async () => void seen.push('handler'));
    expect(seen).toEqual(['before', 'handler', 'after']);
  });

  it('lets server_inspect_exception see the error, which still reaches the caller', async () => {
    const seen: unknown[] = [];
    const { server } = fromZerorpcHooks({
      server_inspect_exception: (_ctx, error) => void seen.push(error),
      server_after_exec: () => void seen.push('after'),
    });
    const boom = new Error('boom');
    await expect(
      compose([server])(serverCtx(), async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(seen).toEqual([boom]);
  });

  it('adds task context before a request and translates remote errors', async () => {
    class NotFound extends Error {}
    const after: unknown[] = [];
    const { client } = fromZerorpcHooks({
      client_before_request: (ctx) => {
        ctx.taskContext.trace_id = 'abc';
      },
      client_handle_remote_error: (error) =>
        error.remoteName === 'DoesNotExist' ? new NotFound(error.remoteMessage) : error,
      client_after_request: (_ctx, error) => void after.push(error),
    });
    const ctx = clientCtx();
    await expect(
      compose([client])(ctx, async () => {
        expect(ctx.taskContext.trace_id).toBe('abc');
        throw new RemoteError('DoesNotExist', 'ticket 7');
      }),
    ).rejects.toBeInstanceOf(NotFound);
    expect(after[0]).toBeInstanceOf(NotFound);
    await compose([client])(clientCtx(), async () => {});
    expect(after).toHaveLength(2);
    expect(after[1]).toBeUndefined();
  });
});
