export type { ExpectedErrors } from '@zrpc/core';
export type { SentryClientOptions } from './client.js';
export { sentryClient } from './client.js';
export type { SpanStatus } from './outcome.js';
export type { SentryServerOptions } from './server.js';
export { sentryServer } from './server.js';
