import { propagation, ROOT_CONTEXT, type Span, SpanKind } from '@opentelemetry/api';
import type { ExpectedErrors, ServerCallContext, ServerMiddleware } from '@zrpc/core';
import { rpcMethod, serverAttributes } from './attributes.js';
import { type CallSettings, callSettings, endIfFails, endOk, inCallSpan } from './call-span.js';
import { headerGetter } from './carrier.js';
import { abandonedOutcome, type Outcome, outcomeOf } from './outcome.js';
import type { TracingOptions } from './tracer.js';

export interface OtelServerOptions extends TracingOptions {
  /**
   * The service's name (what `_zerorpc_name` answers, say): `rpc.method`
   * and span names become `service/method`. Default: the method alone.
   */
  service?: string;
  /**
   * Errors that belong to the API (`['NotFound']`, or a predicate): their
   * spans keep an unset status and no `error.type`.
   */
  expected?: ExpectedErrors<ServerCallContext>;
}

type Settings = CallSettings<ServerCallContext>;

/**
 * Server middleware: each call is a `SERVER` span, the child of the
 * caller's span when the request header carries one (read by the global
 * propagator), active while the rest of the chain runs so that the spans a
 * handler starts, and the calls it makes, are its children. A stream's span
 * ends after its last item. Put it first, so it wraps the other middleware.
 */
export function otelServer(options: OtelServerOptions = {}): ServerMiddleware {
  const settings = callSettings(options);
  return (ctx, next) => {
    // Only the header may name a parent, never a span that happened to be
    // active where the server was started.
    const parent = propagation.extract(ROOT_CONTEXT, ctx.header, headerGetter);
    const method = rpcMethod(ctx.method, settings.service);
    const attributes = serverAttributes(method, ctx.peer, ctx.stream, {});
    // No SDK and no trace in the header: nothing to record or pass on.
    return inCallSpan(
      settings,
      method,
      { kind: SpanKind.SERVER, attributes },
      parent,
      next,
      (span) => (span === undefined ? next() : serve(ctx, next, span, settings)),
    );
  };
}

async function serve(
  ctx: ServerCallContext,
  next: () => Promise<void>,
  span: Span,
  settings: Settings,
): Promise<void> {
  await endIfFails(span, next, (error) => outcomeAt(ctx, error, settings));
  // (A handler that returned despite its call being abandoned is taken at
  // its word: looking at the signal here would make one per call.)
  endOk(span);
}

/** A failed call's outcome; once its signal fired, the abandonment is what ended it. */
function outcomeAt(ctx: ServerCallContext, error: unknown, settings: Settings): Outcome {
  if (ctx.signal.aborted) return abandonedOutcome(ctx.signal.reason);
  return outcomeOf(error, 'server', settings.expected(error, ctx));
}
