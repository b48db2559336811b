export type { ExpectedErrors } from '@zrpc/core';
export type { OtelClientOptions } from './client.js';
export { otelClient } from './client.js';
export type { OtelServerOptions } from './server.js';
export { otelServer } from './server.js';
export type { TracingOptions } from './tracer.js';
