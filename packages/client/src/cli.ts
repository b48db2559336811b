#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { RemoteError } from '@zrpc/core';
import { type Command, HELP, parseCommand, USAGE, UsageError } from './cli/args.js';
import { pretty, toJson } from './cli/format.js';
import { describeServer } from './cli/methods.js';
import { ping } from './cli/ping.js';
import { NoServerError, waitForServer } from './cli/reach.js';
import { Client } from './client.js';
import { RemoteStream } from './stream.js';

/** `zrpc <endpoint> [<method> [<arg>...]]` or `zrpc ping <endpoint>`; resolves with the exit code. */
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
  let socket: { ipv6: boolean };
  try {
    const { curve } = command;
    socket = { ipv6: command.ipv6, ...(curve && curveSocket(curve.serverKey, curve.keysFile)) };
  } catch (error) {
    return badUsage((error as Error).message); // a key file that is not one
  }
  if ('ping' in command) {
    const result = await ping(command, socket).catch((error: Error) => error);
    // ZeroMQ refused the endpoint (`tcp://nowhere`, an unknown transport).
    if (result instanceof Error) return badUsage(result.message);
    const line = command.json ? JSON.stringify(result.json) : result.line;
    (result.code === 0 ? process.stdout : process.stderr).write(`${line}\n`);
    return result.code;
  }
  const { endpoint, timeoutMs, connectTimeoutMs, heartbeatMs } = command;
  let client: Client;
  try {
    // The command's own probe bounds the wait for a server, with its clearer message:
    // the client waits for one up to the call timeout.
    client = new Client({
      endpoints: endpoint,
      timeoutMs,
      connectTimeoutMs: timeoutMs,
      heartbeatMs,
      socket,
    });
  } catch (error) {
    // ZeroMQ refused the endpoint (`tcp://nowhere`, an unknown transport).
    return badUsage((error as Error).message);
  }
  const output = new Output(command.json);
  const done = new AbortController();
  const work = run(client, command, output);
  const reach = waitForServer(endpoint, {
    ipv6: socket.ipv6,
    timeoutMs: connectTimeoutMs,
    signal: done.signal,
  });
  try {
    // The call's outcome, unless no server took the connection before it came.
    await Promise.race([work, reach.then(() => work)]);
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    done.abort();
    await client.close();
    await Promise.allSettled([work, reach]);
  }
}

/** List the methods, or call one and print its result (a stream item by item). */
async function run(client: Client, command: Command, output: Output): Promise<void> {
  if (command.method === undefined) {
    for (const line of await describeServer(client)) output.line(line);
    return;
  }
  const reply = await client.call(command.method, ...command.args);
  if (!(reply instanceof RemoteStream)) return output.value(reply);
  for await (const item of reply) {
    // The reader is gone (`zrpc ... | head -1`): stop the stream, as Unix tools do.
    if (output.closed) break;
    output.value(item);
  }
}

/**
 * Standard output. When the reader closes the pipe, writing fails with
 * EPIPE: the CLI stops writing and ends quietly (exit 0) instead of dying
 * with a stack trace.
 */
class Output {
  closed = false;

  constructor(private readonly json: boolean) {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      this.closed = true;
    });
  }

  value(value: unknown): void {
    this.line(this.json ? toJson(value) : pretty(value));
  }

  line(text: string): void {
    if (!this.closed) process.stdout.write(`${text}\n`);
  }
}

function badUsage(reason: string): number {
  process.stderr.write(`zrpc: ${reason}\n\n${USAGE}`);
  return 2;
}

function describeError(error: unknown): string {
  if (error instanceof NoServerError) return `zrpc: ${error.message}`;
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
