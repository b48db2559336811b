import {
  type Context,
  context,
  isSpanContextValid,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type ExpectedErrors, expectedPredicate } from '@zrpc/core';
import { ATTR_ERROR_TYPE, ATTR_RPC_STATUS_CODE } from './attributes.js';
import type { Outcome } from './outcome.js';
import { stringOption, type TracingOptions, tracerOf } from './tracer.js';

/*
 * A call's span, on either side: made when the call starts, active while
 * the rest of the chain runs, ended by how the call ended.
 */

/** What both middlewares' options have. */
export interface CallSpanOptions<C> extends TracingOptions {
  service?: string;
  expected?: ExpectedErrors<C>;
}

/** Those options, checked once when the middleware is made. */
export interface CallSettings<C> {
  tracer: () => Tracer;
  service: string | undefined;
  expected: (error: unknown, ctx: C) => boolean;
}

export function callSettings<C>(options: CallSpanOptions<C>): CallSettings<C> {
  return {
    tracer: tracerOf(options),
    service: stringOption('service', options.service),
    expected: expectedPredicate(options.expected),
  };
}

/**
 * Start the call's span named `name` as the child of `parent` and run
 * `body` with it active. With no SDK and no trace to continue, the span
 * is invalid: nothing is recorded or passed on, and `next` runs as is. A
 * span the sampler left unrecorded has nothing to end: `body` gets
 * undefined, only the span's context travels, and the call costs no
 * promise of ours.
 */
export function inCallSpan<C>(
  settings: CallSettings<C>,
  name: string,
  options: SpanOptions,
  parent: Context,
  next: () => Promise<void>,
  body: (span: Span | undefined) => Promise<void>,
): Promise<void> {
  const span = settings.tracer().startSpan(name, options, parent);
  if (!isSpanContextValid(span.spanContext())) return next();
  return context.with(trace.setSpan(parent, span), body, undefined, recordingOrNot(span));
}

const recordingOrNot = (span: Span): Span | undefined => (span.isRecording() ? span : undefined);

/** Run the rest of the chain; if it fails, end `span` with `failed(error)` and rethrow. */
export async function endIfFails(
  span: Span,
  next: () => Promise<void>,
  failed: (error: unknown) => Outcome,
): Promise<void> {
  try {
    await next();
  } catch (error) {
    endWith(span, failed(error));
    throw error;
  }
}

/** End `span` as a call that answered. */
export function endOk(span: Span): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, 'ok');
  span.end();
}

/**
 * End `span` as a call with this outcome: `rpc.status_code` always, and
 * for a failure the `ERROR` status with the error's message and `error.type`.
 */
export function endWith(span: Span, outcome: Outcome): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, outcome.status);
  if (outcome.failed) {
    span.setAttribute(ATTR_ERROR_TYPE, outcome.errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
  }
  span.end();
}
