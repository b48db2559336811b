import {
  captureException,
  continueTrace,
  type Event,
  type EventHint,
  getActiveSpan,
  isEnabled,
  type Span,
  startInactiveSpan,
  withActiveSpan,
  withIsolationScope,
  withScope,
} from '@sentry/node';
import {
  type ExpectedErrors,
  expectedPredicate,
  headerText,
  type ServerCallContext,
  type ServerMiddleware,
} from '@zrpc/core';
import { DEFAULT_MAX_ARGS_BYTES, renderArgs } from './args.js';
import {
  BAGGAGE,
  ORIGIN,
  RPC_SYSTEM,
  rpcAttributes,
  SENTRY_TRACE,
  spanName,
} from './attributes.js';
import { markZrpcFramesNotInApp } from './frames.js';
import { type Failure, failureOf } from './outcome.js';
import { recordFailure, SPAN_STATUS_OK, spansEnabled } from './span-status.js';

export interface SentryServerOptions {
  /**
   * The server's name (what `_zerorpc_name` answers): the `rpc.service`
   * tag and span attribute, and the first part of span names.
   */
  serverName?: string;
  /**
   * Errors that belong to the API and are not captured: the names the
   * caller sees (`['NotFound', 'ValidationError']`), or a predicate. Their
   * spans end with status `invalid_argument`.
   */
  expected?: ExpectedErrors<ServerCallContext>;
  /** Put the call's arguments in a captured event's `zerorpc` context (default false). */
  captureArgs?: boolean;
  /** At most this many bytes of arguments, as JSON (default 2048). */
  maxArgsBytes?: number;
  /** Return what of the arguments may go to Sentry (runs only when an event is captured). */
  scrubArgs?: (args: readonly unknown[], ctx: ServerCallContext) => unknown;
}

interface Settings {
  service: string | undefined;
  expected: (error: unknown, ctx: ServerCallContext) => boolean;
  captureArgs: boolean;
  maxArgsBytes: number;
  scrubArgs: SentryServerOptions['scrubArgs'];
}

/**
 * Server middleware for `@sentry/node`: each call runs in its own isolation
 * scope, continues the caller's trace from the request header, is an
 * `rpc.server` span (a stream's until its last item), and an unexpected
 * error is captured once. Put it first, so it wraps the other middleware.
 * Does nothing while Sentry is not initialised.
 */
export function sentryServer(options: SentryServerOptions = {}): ServerMiddleware {
  const settings = settingsOf(options);
  const { service } = settings;
  return (ctx, next) => {
    if (!isEnabled()) return next();
    return withIsolationScope((scope) => {
      // The fork would inherit the breadcrumbs left outside any call (by
      // other work in the process): a call's events tell its own story.
      scope.clearBreadcrumbs();
      scope.setTags(callTags(ctx, service));
      scope.addEventProcessor(markZrpcFramesNotInApp);
      const sentryTrace = headerText(ctx.header[SENTRY_TRACE]);
      const run = spansEnabled()
        ? () => inSpan(ctx, next, settings)
        : () => serve(ctx, next, undefined, settings);
      // Without a trace in the header the isolation scope already starts a
      // new one: continuing nothing would only cost two more scope forks.
      if (sentryTrace === undefined) return run();
      return continueTrace({ sentryTrace, baggage: headerText(ctx.header[BAGGAGE]) }, run);
    });
  };
}

/** Run the rest of the chain as the call's `rpc.server` span, the root of this service's part. */
function inSpan(ctx: ServerCallContext, next: () => Promise<void>, settings: Settings) {
  const { service } = settings;
  const span = startInactiveSpan({
    name: spanName(ctx.method, service),
    op: 'rpc.server',
    attributes: rpcAttributes(ctx.method, service, {
      'zerorpc.peer': ctx.peer,
      'zerorpc.stream': ctx.stream,
    }),
    // Only the trace in the header may be the parent, never a span active
    // where the server happened to be started.
    ...(getActiveSpan() === undefined ? {} : { parentSpan: null }),
  });
  // startInactiveSpan and withActiveSpan fork one scope; startSpanManual forks two.
  return withActiveSpan(span, () => serve(ctx, next, span, settings));
}

/** Run the rest of the chain; `span` is the call's, unless Sentry makes no spans. */
async function serve(
  ctx: ServerCallContext,
  next: () => Promise<void>,
  span: Span | undefined,
  settings: Settings,
): Promise<void> {
  try {
    await next();
    span?.setStatus({ code: SPAN_STATUS_OK });
  } catch (error) {
    const failure = failureOf(
      error,
      'server',
      settings.expected(error, ctx),
      isOwnAbort(ctx, error),
    );
    if (span !== undefined) recordFailure(span, failure);
    if (failure.crash) capture(error, failure, ctx, settings);
    throw error;
  } finally {
    span?.end();
  }
}

/** Whether `error` is the call's own abandonment: its caller lost, the server shutting down. */
function isOwnAbort(ctx: ServerCallContext, error: unknown): boolean {
  const { signal } = ctx;
  return signal.aborted && signal.reason === error;
}

function callTags(ctx: ServerCallContext, service: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {
    'rpc.system': RPC_SYSTEM,
    'rpc.method': ctx.method,
    'zerorpc.peer': ctx.peer,
  };
  if (service !== undefined) tags['rpc.service'] = service;
  return tags;
}

function capture(error: unknown, failure: Failure, ctx: ServerCallContext, settings: Settings) {
  withScope((scope) => {
    scope.setTag('zerorpc.error', failure.name);
    scope.setContext('zerorpc', {
      method: ctx.method,
      service: settings.service,
      peer: ctx.peer,
      stream: ctx.stream,
      error: failure.name,
      args: settings.captureArgs
        ? renderArgs(ctx.args, settings.maxArgsBytes, scrubber(ctx, settings))
        : undefined,
    });
    scope.addEventProcessor((event, hint) => nameException(event, hint, error, failure.name));
    captureException(error, { mechanism: { type: `${ORIGIN}.server`, handled: false } });
  });
}

function scrubber(ctx: ServerCallContext, settings: Settings) {
  const { scrubArgs } = settings;
  return scrubArgs === undefined ? undefined : (args: readonly unknown[]) => scrubArgs(args, ctx);
}

/**
 * Name the exception as the caller sees it: Sentry reads `error.name`,
 * which an Error subclass without its own `name` leaves at `Error`, while
 * its ERR reply (and so the caller) says `ValueError`.
 */
function nameException(event: Event, hint: EventHint, error: unknown, name: string): Event {
  const values = event.exception?.values;
  const top = values?.[values.length - 1];
  if (hint.originalException === error && top !== undefined && top.type !== name) top.type = name;
  return event;
}

function settingsOf(options: SentryServerOptions): Settings {
  const { serverName, captureArgs = false, maxArgsBytes = DEFAULT_MAX_ARGS_BYTES } = options;
  if (serverName !== undefined && typeof serverName !== 'string') {
    throw new TypeError('serverName must be a string');
  }
  if (!Number.isInteger(maxArgsBytes) || maxArgsBytes < 16) {
    throw new RangeError(`maxArgsBytes must be an integer of at least 16, got ${maxArgsBytes}`);
  }
  if (options.scrubArgs !== undefined && typeof options.scrubArgs !== 'function') {
    throw new TypeError('scrubArgs must be a function');
  }
  return {
    service: serverName,
    expected: expectedPredicate(options.expected),
    captureArgs: captureArgs === true,
    maxArgsBytes,
    scrubArgs: options.scrubArgs,
  };
}
