import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { type EventHeader, headerText } from '@zrpc/core';

/*
 * The zerorpc header as a carrier for OpenTelemetry's propagators. A
 * propagator's fields (`traceparent` and `tracestate` for W3C trace
 * context, `baggage`, `sentry-trace`, `b3`, ...) travel as header keys of
 * the request, the call's task context, as plain msgpack str.
 */

/**
 * Reads a request's header (the server side). A value that is not text
 * (see `headerText`) reads as absent, so a malformed one starts a new
 * trace rather than failing the call.
 */
export const headerGetter: TextMapGetter<Readonly<EventHeader>> = {
  keys: (header) => Object.keys(header),
  get: (header, key) => (Object.hasOwn(header, key) ? headerText(header[key]) : undefined),
};

/** Writes a call's task context (the client side), which goes out as header keys. */
export const taskContextSetter: TextMapSetter<Record<string, unknown>> = {
  set: (taskContext, key, value) => {
    taskContext[key] = value;
  },
};
