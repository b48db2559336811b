import { isAbsolute, relative } from 'node:path';
import type { ArgSpec, MethodSpec } from '@zrpc/core';
import type { DiscoveredApp } from './discover.js';

/**
 * What the runner prints once it listens: the apps, the methods (one per
 * line), the endpoints, and the admin endpoint's URL if it serves one.
 */
export function bannerLines(
  apps: readonly DiscoveredApp[],
  methods: readonly MethodSpec[],
  endpoints: readonly string[],
  cwd: string,
  adminUrl?: string,
): string[] {
  const lines = apps.map((app) =>
    app.rpcs === undefined
      ? `app "${app.name}": no rpcs module, skipped`
      : `app "${app.name}": ${count(app.methods.length, 'method')} from ${shortPath(app.rpcs, cwd)}`,
  );
  if (methods.length === 0) {
    lines.push('Serving no methods (only the built-in _zerorpc_* ones)');
  } else {
    lines.push(`Serving ${count(methods.length, 'method')}:`);
    for (const spec of methods) lines.push(`  ${describeMethod(spec)}`);
  }
  for (const endpoint of endpoints) lines.push(`Listening on ${endpoint}`);
  if (adminUrl !== undefined) lines.push(`Status page and metrics on ${adminUrl}`);
  lines.push('Quit with CONTROL-C.');
  return lines;
}

/** `name(a, b="x", ...rest)`, with ` [stream]` for a streaming method, ` [worker]` for one on worker threads. */
export function describeMethod(spec: MethodSpec): string {
  const args = spec.args.map(describeArg).join(', ');
  const tags = `${spec.stream ? ' [stream]' : ''}${spec.worker ? ' [worker]' : ''}`;
  return `${spec.name}(${args})${tags}`;
}

function describeArg(arg: ArgSpec): string {
  if (arg.rest) return `...${arg.name}`;
  if ('default' in arg) return `${arg.name}=${JSON.stringify(arg.default)}`;
  return arg.optional ? `${arg.name}?` : arg.name;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function shortPath(file: string, cwd: string): string {
  const path = relative(cwd, file);
  return path.startsWith('..') || isAbsolute(path) ? file : path;
}
