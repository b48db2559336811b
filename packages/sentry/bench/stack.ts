/**
 * One configuration of the benchmark, in its own process (Sentry's state is
 * per process): how it initialises Sentry and which middleware it installs.
 * @zrpc/testkit's `runBenchStack` serves, calls and measures.
 */
import * as Sentry from '@sentry/node';
import { Client } from '@zrpc/client';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { benchConfig, runBenchStack } from '@zrpc/testkit/middleware-bench';
import { sentryClient, sentryServer } from '../dist/index.js';
import type { Config } from './config.js';

const config = benchConfig<Config>();
const dsn = process.env.ZRPC_BENCH_DSN!;

// `off` has Sentry initialised but no middleware: the difference is the middleware's cost.
if (config === 'off' || config === 'on, rate 1') Sentry.init({ dsn, tracesSampleRate: 1 });
if (config === 'on, rate 0') Sentry.init({ dsn, tracesSampleRate: 0 });
// No tracesSampleRate at all: errors only, the cheapest setting.
if (config === 'errors only') Sentry.init({ dsn });
const instrumented = config !== 'off';

await runBenchStack({
  zrpc: { Registry, Server, Client },
  server: instrumented ? [sentryServer({ serverName: 'bench' })] : [],
  client: () => (instrumented ? [sentryClient({ service: 'bench' })] : []),
  close: () => Sentry.close(1000),
});
