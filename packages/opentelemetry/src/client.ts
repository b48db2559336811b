import {
  type Attributes,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type ClientCallContext, type ClientMiddleware, isStream, onStreamEnd } from '@zrpc/core';
import {
  ATTR_ZERORPC_STREAM,
  clientAttributes,
  endpointAttributes,
  rpcMethod,
} from './attributes.js';
import { taskContextSetter } from './carrier.js';
import { type ExpectedErrors, endOk, endWith, expectedPredicate, outcomeOf } from './outcome.js';
import { stringOption, type TracingOptions, tracerOf } from './tracer.js';

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

interface Settings {
  tracer: () => Tracer;
  service: string | undefined;
  server: Attributes;
  expected: (error: unknown, ctx: ClientCallContext) => boolean;
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
    tracer: tracerOf(options),
    service: stringOption('service', options.service),
    server: endpointAttributes(stringOption('endpoint', options.endpoint)),
    expected: expectedPredicate(options.expected),
  };
  return (ctx, next) => {
    const parent = context.active();
    const method = rpcMethod(ctx.method, settings.service);
    const span = settings
      .tracer()
      .startSpan(
        method,
        { kind: SpanKind.CLIENT, attributes: clientAttributes(method, settings.server) },
        parent,
      );
    // No SDK and no span around the call: nothing to record or pass on.
    if (!isSpanContextValid(span.spanContext())) return next();
    return context.with(trace.setSpan(parent, span), () => {
      propagate(ctx.taskContext);
      return call(ctx, next, span, settings);
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
  try {
    await next();
  } catch (error) {
    endWith(span, outcomeOf(error, 'client', settings.expected(error, ctx)));
    throw error;
  }
  if (!isStream(ctx.result)) return endOk(span);
  span.setAttribute(ATTR_ZERORPC_STREAM, true);
  onStreamEnd(ctx.result, (error) => {
    if (error === undefined) endOk(span);
    else endWith(span, outcomeOf(error, 'client', settings.expected(error, ctx)));
  });
}
