/**
 * What Sentry's own API costs per call, with no zrpc at all, in errors-only
 * mode (`Sentry.init` without `tracesSampleRate`): the work any RPC
 * integration does to give each call its own isolation scope and to carry
 * the trace from caller to callee. The client side reads the trace to send
 * (`getTraceData`) and leaves a breadcrumb; the server side forks an
 * isolation scope and continues the trace it was sent. Printed in µs per
 * call, for comparison with a zrpc call's CPU time (`pnpm bench`).
 *
 *   node --import tsx bench/sdk-floor.ts
 */
import * as Sentry from '@sentry/node';

Sentry.init({ dsn: 'http://key@127.0.0.1:9/1' });

const rest = async (): Promise<void> => {};

async function perCallMicros(calls: number, fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < calls / 4; i++) await fn(); // warm-up
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn();
  const { user, system } = process.cpuUsage(cpu);
  return (user + system) / calls;
}

const client = async () => {
  Sentry.getTraceData();
  Sentry.addBreadcrumb({ category: 'rpc', message: 'svc/add', data: { status: 'ok' } });
  await rest();
};
const trace = Sentry.getTraceData();
const isolated = () => Sentry.withIsolationScope(rest);
const continued = () =>
  Sentry.withIsolationScope(() =>
    Sentry.continueTrace({ sentryTrace: trace['sentry-trace'], baggage: trace.baggage }, rest),
  );

const CALLS = 100_000;
const rows: [string, () => Promise<void>][] = [
  ['an async call, nothing else', rest],
  ['client: getTraceData + a breadcrumb', client],
  ['server: an isolation scope', isolated],
  ['server: an isolation scope + continueTrace', continued],
];
console.log('CPU µs per call, errors only, no zrpc:');
for (const [name, fn] of rows)
  console.log(`  ${name.padEnd(44)} ${(await perCallMicros(CALLS, fn)).toFixed(2)}`);
await Sentry.close(100);
