import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { EventHeader } from '@zrpc/core';

/*
 * The zerorpc header as a carrier for OpenTelemetry's propagators. A
 * propagator's fields (`traceparent` and `tracestate` for W3C trace
 * context, `baggage`, `sentry-trace`, `b3`, ...) travel as header keys of
 * the request, the call's task context, as plain msgpack str.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header value as text. zrpc sends str; a peer may send bin (bytes, in
 * Python 2 style): taken if it is UTF-8. Anything else reads as absent, so
 * a malformed value starts a new trace rather than failing the call.
 */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Reads a request's header (the server side). */
export const headerGetter: TextMapGetter<Readonly<EventHeader>> = {
  keys: (header) => Object.keys(header),
  get: (header, key) => (Object.hasOwn(header, key) ? text(header[key]) : undefined),
};

/** Writes a call's task context (the client side), which goes out as header keys. */
export const taskContextSetter: TextMapSetter<Record<string, unknown>> = {
  set: (taskContext, key, value) => {
    taskContext[key] = value;
  },
};
