import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Server, type ServerOptions } from '@zrpc/server';

/**
 * The OpenTelemetry SDK as an application registers it (the Node tracer
 * provider: async-local-storage context, W3C trace context and baggage
 * propagators), exporting every span to memory as it ends.
 */
export function registerSdk(): { exporter: InMemorySpanExporter; provider: NodeTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  return { exporter, provider };
}

/** Undo `registerSdk`: the API is back to its no-op state. */
export async function unregisterSdk(provider: NodeTracerProvider): Promise<void> {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

const silent = { info() {}, warn() {}, error() {} };

/** A quiet server on a free loopback port. */
export async function startServer(
  options: ServerOptions,
): Promise<{ server: Server; endpoint: string }> {
  const server = new Server({ logger: silent, ...options });
  await server.bind('tcp://127.0.0.1:*');
  return { server, endpoint: server.endpoints[0]! };
}

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

/**
 * The spans ended so far whose name is `name`, once there are `count` of
 * them (a server span ends as its reply is sent: the client may have its
 * answer a moment before). Bounded: a hang guard, not a speed bound.
 */
export async function spansNamed(
  exporter: InMemorySpanExporter,
  name: string,
  count = 1,
): Promise<SpanView[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
    if (spans.length >= count || Date.now() > deadline) return spans.map(view);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
