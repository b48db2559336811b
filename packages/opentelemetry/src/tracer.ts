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
   * Where spans are made. Default: the global tracer provider, through
   * the API's proxy, so an SDK registered after the middleware was made
   * is used from then on.
   */
  tracerProvider?: TracerProvider;
}

/** The tracer of `options.tracerProvider`, or of the global one (a proxy that follows registration). */
export function tracerOf(options: TracingOptions): Tracer {
  const provider = options.tracerProvider ?? trace.getTracerProvider();
  return provider.getTracer(SCOPE_NAME, SCOPE_VERSION);
}

/** A string option, checked. */
export function stringOption(name: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string')
    throw new TypeError(`${name} must be a string`);
  return value;
}
