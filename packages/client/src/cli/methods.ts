import { LostRemoteError, RemoteError } from '@zrpc/core';
import type { Client } from '../client.js';

interface InspectArg {
  name: string;
  default?: unknown;
}

interface Inspection {
  name?: unknown;
  methods?: Record<string, { args?: InspectArg[]; doc?: unknown }>;
}

/**
 * The lines `zrpc <endpoint>` prints: `[service name]`, then one line per
 * method with its arguments and the first line of its doc, like the
 * zerorpc-python CLI. Servers that do not answer `_zerorpc_inspect` (older
 * ones, zerorpc-node's silence) get the names from `_zerorpc_list`.
 */
export async function describeServer(client: Client): Promise<string[]> {
  let inspection: Inspection;
  try {
    inspection = (await client.call('_zerorpc_inspect')) as Inspection;
  } catch (error) {
    if (!(error instanceof RemoteError || error instanceof LostRemoteError)) throw error;
    return listFallback(client);
  }
  const rows = Object.entries(inspection.methods ?? {}).map(([name, method]) => [
    `${name}(${signature(method.args ?? [])})`,
    firstLine(method.doc),
  ]);
  return [`[${String(inspection.name ?? 'N/A')}]`, ...table(rows)];
}

async function listFallback(client: Client): Promise<string[]> {
  const names = (await client.call('_zerorpc_list')) as string[];
  const name = await client.call('_zerorpc_name').catch(() => 'N/A');
  return [`[${String(name)}]`, ...names.map(String)];
}

function signature(args: readonly InspectArg[]): string {
  // zerorpc-python lists methods of a class: `self` is no RPC argument.
  const visible = args[0]?.name === 'self' ? args.slice(1) : args;
  return visible
    .map((arg) =>
      arg.default === undefined || arg.default === null
        ? arg.name
        : `${arg.name}=${JSON.stringify(arg.default)}`,
    )
    .join(', ');
}

function firstLine(doc: unknown): string {
  return typeof doc === 'string' ? (doc.trim().split('\n')[0] ?? '') : '';
}

function table(rows: Array<[string, string] | string[]>): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => (right ? `${left!.padEnd(width)}  ${right}` : left!));
}
