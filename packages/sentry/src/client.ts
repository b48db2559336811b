import {
  addBreadcrumb,
  getTraceData,
  isEnabled,
  type SeverityLevel,
  type Span,
  startInactiveSpan,
  withActiveSpan,
} from '@sentry/node';
import {
  type ClientCallContext,
  type ClientMiddleware,
  type ExpectedErrors,
  expectedPredicate,
  isStream,
  onStreamEnd,
} from '@zrpc/core';
import { BAGGAGE, RPC_SYSTEM, rpcAttributes, SENTRY_TRACE, spanName } from './attributes.js';
import { type Failure, failureOf } from './outcome.js';
import { recordFailure, SPAN_STATUS_OK, spansEnabled } from './span-status.js';

export interface SentryClientOptions {
  /** The name of the service called (`rpc.service` on spans and breadcrumbs). */
  service?: string;
  /**
   * Remote errors that belong to the API (names, or a predicate): their
   * spans end with status `invalid_argument` rather than `internal_error`.
   */
  expected?: ExpectedErrors<ClientCallContext>;
  /** A breadcrumb per call (default true). */
  breadcrumbs?: boolean;
}

interface Settings {
  service: string | undefined;
  expected: (error: unknown, ctx: ClientCallContext) => boolean;
  breadcrumbs: boolean;
}

/**
 * Client middleware for `@sentry/node`: each call is an `rpc.client` span
 * (a stream's until the consumer is done with it) and leaves a breadcrumb,
 * and its request header carries the span's trace (`sentry-trace`,
 * `baggage`) for the server to continue. Does nothing while Sentry is not
 * initialised.
 */
export function sentryClient(options: SentryClientOptions = {}): ClientMiddleware {
  const settings = settingsOf(options);
  return (ctx, next) => {
    if (!isEnabled()) return next();
    if (!spansEnabled()) return call(ctx, next, undefined, settings);
    const span = startInactiveSpan({
      name: spanName(ctx.method, settings.service),
      op: 'rpc.client',
      attributes: rpcAttributes(ctx.method, settings.service, {}),
    });
    // Active while the rest of the chain runs: what it starts is a child.
    return withActiveSpan(span, () => call(ctx, next, span, settings));
  };
}

async function call(
  ctx: ClientCallContext,
  next: () => Promise<void>,
  span: Span | undefined,
  settings: Settings,
): Promise<void> {
  propagate(ctx.taskContext, span);
  try {
    await next();
  } catch (error) {
    const failure = failureOf(error, 'client', settings.expected(error, ctx), false);
    finish(span, failure);
    if (settings.breadcrumbs) breadcrumb(ctx, settings, false, failure);
    throw error;
  }
  const stream = isStream(ctx.result);
  if (settings.breadcrumbs) breadcrumb(ctx, settings, stream);
  if (!stream) finish(span);
  else {
    onStreamEnd(ctx.result as AsyncIterator<unknown>, (error) =>
      finish(
        span,
        error === undefined
          ? undefined
          : failureOf(error, 'client', settings.expected(error, ctx), false),
      ),
    );
  }
}

function finish(span: Span | undefined, failure?: Failure): void {
  if (span === undefined) return;
  if (failure === undefined) span.setStatus({ code: SPAN_STATUS_OK });
  else recordFailure(span, failure);
  span.end();
}

/**
 * Put the span's trace in the request header. A call made inside a server
 * handler starts with that handler's task context, whose trace names the
 * handler's caller: it is replaced, so the server called next is a child of
 * this span. Baggage entries of other vendors are kept.
 */
function propagate(taskContext: Record<string, unknown>, span: Span | undefined): void {
  // Without a span (errors only), the trace of the scope: a handler's, continued from its caller.
  const trace = getTraceData(span === undefined ? {} : { span });
  const sentryTrace = trace[SENTRY_TRACE];
  if (sentryTrace === undefined) return;
  taskContext[SENTRY_TRACE] = sentryTrace;
  const baggage = mergeBaggage(taskContext[BAGGAGE], trace.baggage);
  if (baggage === undefined) delete taskContext[BAGGAGE];
  else taskContext[BAGGAGE] = baggage;
}

/** Sentry's baggage entries replace those of the inherited header; other entries stay. */
function mergeBaggage(inherited: unknown, sentry: string | undefined): string | undefined {
  const others =
    typeof inherited === 'string'
      ? inherited
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '' && !entry.startsWith('sentry-'))
      : [];
  const entries = sentry ? [...others, sentry] : others;
  return entries.length > 0 ? entries.join(',') : undefined;
}

function breadcrumb(
  ctx: ClientCallContext,
  settings: Settings,
  stream: boolean,
  failure?: Failure,
): void {
  const data: Record<string, unknown> = {
    'rpc.system': RPC_SYSTEM,
    'rpc.method': ctx.method,
    status: failure?.status ?? 'ok',
  };
  if (settings.service !== undefined) data['rpc.service'] = settings.service;
  if (failure !== undefined) data['error.type'] = failure.name;
  if (stream) data.stream = true;
  addBreadcrumb({
    type: 'default',
    category: 'rpc',
    level: levelOf(failure),
    message: spanName(ctx.method, settings.service),
    data,
  });
}

function levelOf(failure: Failure | undefined): SeverityLevel {
  if (failure === undefined) return 'info';
  return failure.status === 'invalid_argument' ? 'warning' : 'error';
}

function settingsOf(options: SentryClientOptions): Settings {
  if (options.service !== undefined && typeof options.service !== 'string') {
    throw new TypeError('service must be a string');
  }
  return {
    service: options.service,
    expected: expectedPredicate(options.expected),
    breadcrumbs: options.breadcrumbs !== false,
  };
}
