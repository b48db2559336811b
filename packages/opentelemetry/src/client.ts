import { type Attributes, context, propagation, type Span, SpanKind } from '@opentelemetry/api';
import {
  type ClientCallContext,
  type ClientMiddleware,
  type ExpectedErrors,
  isStream,
  onStreamEnd,
} from '@zrpc/core';
import {
  ATTR_ZERORPC_STREAM,
  clientAttributes,
  endpointAttributes,
  rpcMethod,
} from './attributes.js';
import {
  type CallSettings,
  callSettings,
  endIfFails,
  endOk,
  endWith,
  inCallSpan,
} from './call-span.js';
import { taskContextSetter } from './carrier.js';
import { outcomeOf } from './outcome.js';
import { stringOption, type TracingOptions } from './tracer.js';

export interface OtelClientOptions extends TracingOptions {
  /** The name of the service called: `rpc.method` and span names become `service/method`. */
  service?: string;
  /**
   * The endpoint the client calls (`tcp://billing:4242`): `server.address`
   * and `server.port`, which name the group of servers, not the one that
   * took a call.
   */
  endpoint?: string;
  /**
   * Remote errors that belong to the API (names, or a predicate): their
   * spans keep an unset status and no `error.type`.
   */
  expected?: ExpectedErrors<ClientCallContext>;
}

interface Settings extends CallSettings<ClientCallContext> {
  server: Attributes;
}

/**
 * Client middleware: each call is a `CLIENT` span, the child of the span
 * active around the call (a server handler's, an HTTP request's), and its
 * request header carries the span's context, written by the global
 * propagator (W3C `traceparent`/`tracestate` with the SDK's defaults). A
 * stream's span ends when the consumer is done with it.
 */
export function otelClient(options: OtelClientOptions = {}): ClientMiddleware {
  const settings: Settings = {
    ...callSettings(options),
    server: endpointAttributes(stringOption('endpoint', options.endpoint)),
  };
  return (ctx, next) => {
    const method = rpcMethod(ctx.method, settings.service);
    const start = { kind: SpanKind.CLIENT, attributes: clientAttributes(method, settings.server) };
    // No SDK and no span around the call: nothing to record or pass on.
    return inCallSpan(settings, method, start, context.active(), next, (span) => {
      propagate(ctx.taskContext);
      return span === undefined ? next() : call(ctx, next, span, settings);
    });
  };
}

/**
 * Write the active context (this call's span) into the request header.
 * A call made inside a server handler starts with that handler's task
 * context, which holds its caller's trace fields: they are dropped first,
 * so what goes out is this span's, never a stale mix of both.
 */
function propagate(taskContext: Record<string, unknown>): void {
  for (const field of propagation.fields()) delete taskContext[field];
  // The active context itself: Sentry's propagator writes nothing for any other.
  propagation.inject(context.active(), taskContext, taskContextSetter);
}

async function call(
  ctx: ClientCallContext,
  next: () => Promise<void>,
  span: Span,
  settings: Settings,
): Promise<void> {
  const failed = (error: unknown) => outcomeOf(error, 'client', settings.expected(error, ctx));
  await endIfFails(span, next, failed);
  if (!isStream(ctx.result)) return endOk(span);
  span.setAttribute(ATTR_ZERORPC_STREAM, true);
  onStreamEnd(ctx.result, (error) => {
    if (error === undefined) endOk(span);
    else endWith(span, failed(error));
  });
}
