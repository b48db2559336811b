import { RemoteError } from './errors.js';
import type {
  ClientCallContext,
  ClientMiddleware,
  ServerCallContext,
  ServerMiddleware,
} from './middleware.js';

type Awaitable<T> = T | Promise<T>;

/**
 * zerorpc-python's named middleware hooks, for people porting a Python
 * middleware class method by method. Each hook is optional.
 */
export interface ZerorpcHooks {
  /** Before the handler runs. */
  server_before_exec?(ctx: ServerCallContext): Awaitable<void>;
  /** After the handler succeeded (for a stream: after its last item). */
  server_after_exec?(ctx: ServerCallContext): Awaitable<void>;
  /** The call failed; the error is still reported to the caller afterwards. */
  server_inspect_exception?(ctx: ServerCallContext, error: unknown): Awaitable<void>;
  /** Before a request leaves (add `ctx.taskContext` keys here). */
  client_before_request?(ctx: ClientCallContext): Awaitable<void>;
  /** After the reply, the remote error, the timeout or the lost remote (`error` then set). */
  client_after_request?(ctx: ClientCallContext, error: unknown): Awaitable<void>;
  /** Translate a remote error into the error the caller should see. */
  client_handle_remote_error?(error: RemoteError, ctx: ClientCallContext): unknown;
}

/** Turn zerorpc-style hooks into one server and one client middleware. */
export function fromZerorpcHooks(hooks: ZerorpcHooks): {
  server: ServerMiddleware;
  client: ClientMiddleware;
} {
  const server: ServerMiddleware = async (ctx, next) => {
    await hooks.server_before_exec?.(ctx);
    try {
      await next();
    } catch (error) {
      await hooks.server_inspect_exception?.(ctx, error);
      throw error;
    }
    await hooks.server_after_exec?.(ctx);
  };
  const client: ClientMiddleware = async (ctx, next) => {
    await hooks.client_before_request?.(ctx);
    try {
      await next();
    } catch (error) {
      const translated =
        error instanceof RemoteError && hooks.client_handle_remote_error
          ? hooks.client_handle_remote_error(error, ctx)
          : error;
      await hooks.client_after_request?.(ctx, translated);
      throw translated;
    }
    await hooks.client_after_request?.(ctx, undefined);
  };
  return { server, client };
}
