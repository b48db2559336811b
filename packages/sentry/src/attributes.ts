import type { startSpan } from '@sentry/node';

/** Span attributes, as @sentry/node takes them (its own type is not exported from there). */
export type SpanAttributes = NonNullable<Parameters<typeof startSpan>[0]['attributes']>;

/** `rpc.system`, per OpenTelemetry's RPC conventions. */
export const RPC_SYSTEM = 'zerorpc';

/** Where our spans and events come from, in Sentry's `auto.<category>.<integration>` form. */
export const ORIGIN = 'auto.rpc.zerorpc';

/** The task context keys Sentry's trace travels in (the HTTP header names). */
export const SENTRY_TRACE = 'sentry-trace';
export const BAGGAGE = 'baggage';

/** A span's name: `service/method` as OpenTelemetry names RPC spans, or the method alone. */
export function spanName(method: string, service: string | undefined): string {
  return service === undefined ? method : `${service}/${method}`;
}

/** The RPC attributes of a call's span. */
export function rpcAttributes(
  method: string,
  service: string | undefined,
  extra: SpanAttributes,
): SpanAttributes {
  const attributes: SpanAttributes = {
    'sentry.origin': ORIGIN,
    'rpc.system': RPC_SYSTEM,
    'rpc.method': method,
    ...extra,
  };
  if (service !== undefined) attributes['rpc.service'] = service;
  return attributes;
}
