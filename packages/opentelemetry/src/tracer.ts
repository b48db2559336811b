import { createRequire } from 'node:module';
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';

/** The instrumentation scope our spans carry. */
export const SCOPE_NAME = '@zrpc/opentelemetry';
export const SCOPE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** Options both middlewares take. */
export interface TracingOptions {
  /**
   * Where spans are made. Default: the global tracer provider, so an SDK
   * registered after the middleware was made is used from then on.
   */
  tracerProvider?: TracerProvider;
}

/**
 * The tracer to start a span with: of `options.tracerProvider`, or of the
 * global provider as it is now. The global one is looked up per span and
 * its tracer cached while it stays the same: `@opentelemetry/api` 1.10
 * ships an ES module and a CommonJS build, and a tracer taken from the
 * ES module's own proxy before a (CommonJS) SDK registered would stay a
 * no-op for good.
 */
export function tracerOf(options: TracingOptions): () => Tracer {
  const { tracerProvider } = options;
  if (tracerProvider !== undefined) {
    const tracer = tracerProvider.getTracer(SCOPE_NAME, SCOPE_VERSION);
    return () => tracer;
  }
  let provider: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  return () => {
    const now = trace.getTracerProvider();
    if (now !== provider || tracer === undefined) {
      provider = now;
      tracer = now.getTracer(SCOPE_NAME, SCOPE_VERSION);
    }
    return tracer;
  };
}

/** A string option, checked. */
export function stringOption(name: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string')
    throw new TypeError(`${name} must be a string`);
  return value;
}
