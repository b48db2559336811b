/*
 * zrpc against the real zerorpc-python, heartbeats that differ and a killed
 * server. A check to run by hand where zerorpc-python runs (not in CI: it
 * cannot be installed there); see README.md beside this file.
 *
 *   ZERORPC_PYTHON=/path/to/zerorpc-python node --import tsx interop-python/check.ts
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Registry } from '@zrpc/core';
import { Server } from '@zrpc/server';
import { Client } from '../src/index.js';

const python = process.env.PYTHON ?? 'python3';
const env = { ...process.env, PYTHONPATH: process.env.ZERORPC_PYTHON ?? '' };
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const CALL_S = 8;

async function pythonServer(endpoint: string, heartbeatS: number) {
  const child = spawn(python, [here('server.py'), endpoint, String(heartbeatS)], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data'); // "ready"
  return child;
}

async function callPython(endpoint: string, assumedPeerHeartbeatMs?: number) {
  const client = new Client({
    endpoints: endpoint,
    heartbeatMs: 1000,
    timeoutMs: 60_000,
    ...(assumedPeerHeartbeatMs === undefined ? {} : { assumedPeerHeartbeatMs }),
  });
  const start = performance.now();
  try {
    return `${await client.call('slow', CALL_S)} in ${seconds(start)}`;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message} after ${seconds(start)}`;
  } finally {
    await client.close();
  }
}

async function servePython(
  endpoint: string,
  assumedPeerHeartbeatMs?: number,
  pace: { heartbeatMs?: number; clientHeartbeatS: number; callS: number } = {
    heartbeatMs: 1000,
    clientHeartbeatS: 5,
    callS: CALL_S,
  },
) {
  const registry = new Registry();
  registry.register(async function slow(s: number) {
    await new Promise((resolve) => setTimeout(resolve, s * 1000));
    return `slept ${s}`;
  });
  const server = new Server({
    registry,
    ...(pace.heartbeatMs === undefined ? {} : { heartbeatMs: pace.heartbeatMs }),
    ...(assumedPeerHeartbeatMs === undefined ? {} : { assumedPeerHeartbeatMs }),
  });
  await server.bind(endpoint);
  const args = [here('client.py'), endpoint, String(pace.clientHeartbeatS), String(pace.callS)];
  const child = spawn(python, args, {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  await once(child, 'exit');
  await server.close({ graceMs: 0 });
  return `${out.trim()} (server: ${server.stats.lostRemotes} lost)`;
}

const py = await pythonServer('tcp://127.0.0.1:4711', 5);
console.log(`zrpc client at 1 s -> python server at 5 s, ${CALL_S} s call`);
console.log(`  default:                     ${await callPython('tcp://127.0.0.1:4711')}`);
console.log(`  assumedPeerHeartbeatMs 1000: ${await callPython('tcp://127.0.0.1:4711', 1000)}`);

console.log('python server SIGKILLed 0.5 s into a 30 s call');
const client = new Client({ endpoints: 'tcp://127.0.0.1:4711', heartbeatMs: 1000 });
const start = performance.now();
const call = client.call('slow', 30).catch((error: Error) => error);
setTimeout(() => py.kill('SIGKILL'), 500);
const error = (await call) as Error;
console.log(`  ${error.name}: ${error.message} after ${seconds(start)}`);
await client.close();

console.log(`python client at 5 s -> zrpc server at 1 s, ${CALL_S} s call`);
console.log(`  default:                     ${await servePython('tcp://127.0.0.1:4712')}`);
console.log(`  assumedPeerHeartbeatMs 1000: ${await servePython('tcp://127.0.0.1:4712', 1000)}`);

// The Django setup's clients: heartbeat=30, against a server at its defaults.
const seed = { clientHeartbeatS: 30, callS: 15 };
console.log('python client at 30 s -> zrpc server at its defaults, 15 s call');
console.log(
  `  default:                     ${await servePython('tcp://127.0.0.1:4713', undefined, seed)}`,
);
console.log(
  `  assumedPeerHeartbeatMs 5000: ${await servePython('tcp://127.0.0.1:4713', 5000, seed)}`,
);
