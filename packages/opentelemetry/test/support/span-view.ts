import type { SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A span as the tests compare it. */
export interface SpanView {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
}

export function view(span: ReadableSpan): SpanView {
  const context: SpanContext = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    status: { ...span.status },
    attributes: { ...span.attributes },
  };
}
