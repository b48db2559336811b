#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { RemoteError } from '@zrpc/core';
import { HELP, parseCommand, USAGE, UsageError } from './cli/args.js';
import { pretty, toJson } from './cli/format.js';
import { describeServer } from './cli/methods.js';
import { Client } from './client.js';
import { RemoteStream } from './stream.js';

/** `zrpc <endpoint> [<method> [<arg>...]]`; resolves with the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return badUsage(error.message);
  }
  if (command === HELP) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { endpoint, method, args, json, timeoutMs, heartbeatMs, curve } = command;
  let client: Client;
  try {
    const socket = curve && curveSocket(curve.serverKey, curve.keysFile);
    client = new Client({ endpoints: endpoint, timeoutMs, heartbeatMs, socket });
  } catch (error) {
    // ZeroMQ refused the endpoint (`tcp://nowhere`, an unknown transport).
    return badUsage((error as Error).message);
  }
  const print = (value: unknown) =>
    process.stdout.write(`${json ? toJson(value) : pretty(value)}\n`);
  try {
    if (method === undefined) {
      for (const line of await describeServer(client)) process.stdout.write(`${line}\n`);
    } else {
      const reply = await client.call(method, ...args);
      if (reply instanceof RemoteStream) for await (const item of reply) print(item);
      else print(reply);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

function badUsage(reason: string): number {
  process.stderr.write(`zrpc: ${reason}\n\n${USAGE}`);
  return 2;
}

function describeError(error: unknown): string {
  if (error instanceof RemoteError) {
    return error.remoteMessage ? `${error.remoteName}: ${error.remoteMessage}` : error.remoteName;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

process.exitCode = await main(process.argv.slice(2));

/** CURVE options of the DEALER: the server's public key and this client's pair (a zrpc-keygen file). */
function curveSocket(serverKey: string, keysFile: string) {
  const pair: Record<string, string> = {};
  for (const line of readFileSync(keysFile, 'utf8').split('\n')) {
    const match = /^\s*(public|secret)\s*=\s*(\S+)\s*$/.exec(line);
    if (match) pair[match[1]!] = match[2]!;
  }
  if (!pair.public || !pair.secret) {
    throw new Error(`${keysFile} is not a key pair file: it needs public=... and secret=... lines`);
  }
  return { curveServerKey: serverKey, curvePublicKey: pair.public, curveSecretKey: pair.secret };
}
