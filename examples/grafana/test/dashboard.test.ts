// The dashboard queries only metrics a zrpc server exposes: every metric
// name in its PromQL is looked up in the /metrics of a real server with its
// admin endpoint on, after calls of every kind.
import { readFileSync } from 'node:fs';
import { Client } from '@zrpc/client';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { type AdminServer, serveAdmin } from '@zrpc/server/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(new URL('../zrpc.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: string | { query: string } }> };
};
const queries: Array<{ where: string; expr: string }> = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
  ),
  ...dashboard.templating.list.flatMap(({ name, query }) => {
    const text = typeof query === 'object' ? query.query : undefined;
    // label_values(<series selector>, <label>): the selector's metric.
    const selector = text && /^label_values\((.*),\s*\w+\)$/.exec(text)?.[1];
    return selector ? [{ where: `variable ${name}`, expr: selector }] : [];
  }),
];

/**
 * The metric names a PromQL expression selects: identifiers that are not
 * calls, once strings, label matchers, ranges and `by`/`without` label
 * lists are taken out.
 */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/([A-Za-z_:][\w:]*)\s*(\()?/g)]
    .filter((match) => match[2] === undefined)
    .map((match) => match[1]!);
}

let server: Server;
let admin: AdminServer;
let exposed: Set<string>;

beforeAll(async () => {
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  registry.register(function fail(): never {
    throw new Error('no');
  });
  server = new Server({ registry, logger: { info() {}, warn() {}, error() {} } });
  await server.bind('tcp://127.0.0.1:*');
  admin = await serveAdmin(server, { address: '127.0.0.1:0' });
  const client = new Client({ endpoints: server.endpoints[0]! });
  try {
    await client.call('add', 1, 2);
    await client.call('fail').catch(() => {});
    await client.call('no_such_method').catch(() => {});
  } finally {
    await client.close();
  }
  const text = await (await fetch(new URL('/metrics', admin.url))).text();
  exposed = new Set(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[\w:]+/.exec(line)![0]),
  );
});

afterAll(async () => {
  await server.close({ graceMs: 0 });
  await admin.close();
});

describe('examples/grafana/zrpc.json', () => {
  it('reads each query as PromQL naming at least one metric', () => {
    expect(queries.length).toBeGreaterThan(15);
    for (const { where, expr } of queries) expect(metricsIn(expr), where).not.toEqual([]);
  });

  it('queries only metrics that /metrics exposes', () => {
    const missing = queries.flatMap(({ where, expr }) =>
      metricsIn(expr)
        .filter((name) => !exposed.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('shows rate, errors, p50 and p99 by method, in flight, refusals and loop delay', () => {
    const all = queries.map((q) => q.expr).join('\n');
    expect(all).toContain('sum by (rpc_method) (rate(rpc_server_call_duration_seconds_count');
    expect(all).toContain('rpc_status_code!="ok"');
    expect(all).toMatch(/histogram_quantile\(0\.5, sum by \(le, rpc_method\)/);
    expect(all).toMatch(/histogram_quantile\(0\.99, sum by \(le, rpc_method\)/);
    for (const name of [
      'zrpc_server_calls_running',
      'zrpc_server_refused_calls_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(
        queries.some((q) => metricsIn(q.expr).includes(name)),
        name,
      ).toBe(true);
    }
  });

  it('finds a misspelt metric (the check above can fail)', () => {
    expect(metricsIn('sum by (rpc_method) (rate(rpc_server_calls_total{a="b"}[5m]))')).toEqual([
      'rpc_server_calls_total',
    ]);
    expect(exposed.has('rpc_server_calls_total')).toBe(false);
  });
});
