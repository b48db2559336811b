import { getClient, type Span } from '@sentry/node';
import type { Failure } from './outcome.js';

// The codes of Sentry's span statuses (@sentry/node does not export its constants).
export const SPAN_STATUS_OK = 1;
export const SPAN_STATUS_ERROR = 2;

/**
 * Record how a call failed on its span: the status, and the error's name
 * as `error.type`. The status is also kept as `rpc.response.status_code`
 * (OpenTelemetry's RPC attribute), because Sentry's span protocol counts
 * `cancelled` as ok and drops its message: a call whose caller went away
 * would otherwise look like any successful one.
 */
export function recordFailure(span: Span, failure: Failure): void {
  span.setStatus({ code: SPAN_STATUS_ERROR, message: failure.status });
  span.setAttribute('error.type', failure.name);
  span.setAttribute('rpc.response.status_code', failure.status);
}

/**
 * Whether Sentry makes spans at all: a `tracesSampleRate` (0 included) or a
 * `tracesSampler` is set. Without either (errors only) the middlewares make
 * none: an unsampled span would cost tens of µs per call and send nothing,
 * while the isolation scope's propagation context already gives events and
 * outgoing calls the trace.
 */
export function spansEnabled(): boolean {
  const options = getClient()?.getOptions();
  return (
    options !== undefined &&
    (options.tracesSampleRate != null || options.tracesSampler !== undefined)
  );
}
