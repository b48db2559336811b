import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@zrpc/core';
import { nextTurns } from '@zrpc/testkit';
import { afterAll, afterEach, expect, test } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { z85Key, z85Text } from '../src/curve.js';
import { readKeyPair, type Server } from '../src/index.js';
import { RawClient, startServer } from './helpers.js';

const registry = new Registry();
registry.register(function add(a: number, b: number) {
  return a + b;
});

const dir = mkdtempSync(join(tmpdir(), 'zrpc-curve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const serverKeys = curveKeyPair();
const alice = curveKeyPair();
const mallory = curveKeyPair();

async function curveServer(
  clientKeys: string[] | string,
): Promise<{ server: Server; endpoint: string }> {
  const started = await startServer({ registry, curve: { ...serverKeys, clientKeys } });
  open.push({ close: () => started.server.close({ graceMs: 0 }) });
  return started;
}

function client(endpoint: string, keys?: { publicKey: string; secretKey: string }): RawClient {
  const socket = keys && {
    curveServerKey: serverKeys.publicKey,
    curvePublicKey: keys.publicKey,
    curveSecretKey: keys.secretKey,
  };
  const c = new RawClient(endpoint, { socket });
  open.push(c);
  return c;
}

/** Whether `c` gets an answer to add(1, 2) within `ms`. */
async function answered(c: RawClient, ms = 700): Promise<boolean> {
  c.request('add', [1, 2]);
  try {
    return (await c.nextReply(ms)).name === 'OK';
  } catch {
    return false;
  }
}

test('a listed client key is admitted; an unlisted key and plaintext get nothing', async () => {
  const { endpoint, server } = await curveServer([alice.publicKey]);
  expect(await answered(client(endpoint, alice), 3000)).toBe(true);
  expect(await answered(client(endpoint, mallory))).toBe(false);
  expect(await answered(client(endpoint))).toBe(false);
  expect(server.stats.calls).toBe(1);
});

test('the allow-list is a file, re-read by reloadClientKeys() without a restart', async () => {
  const list = join(dir, 'allowed.txt');
  writeFileSync(list, `# nobody yet\n${mallory.publicKey}\n`);
  const { server, endpoint } = await curveServer(list);
  expect(await answered(client(endpoint, alice))).toBe(false);
  writeFileSync(list, `# alice's laptop\n${alice.publicKey}\n\n${mallory.publicKey}\n`);
  await server.reloadClientKeys();
  expect(await answered(client(endpoint, alice), 3000)).toBe(true);
  writeFileSync(list, `${alice.publicKey}\n`);
  await server.reloadClientKeys();
  expect(await answered(client(endpoint, mallory))).toBe(false);
});

test('two CURVE servers in one process keep their own allow-lists', async () => {
  const a = await curveServer([alice.publicKey]);
  const m = await curveServer([mallory.publicKey]);
  expect(await answered(client(a.endpoint, alice), 3000)).toBe(true);
  expect(await answered(client(m.endpoint, mallory), 3000)).toBe(true);
  expect(await answered(client(m.endpoint, alice))).toBe(false);
});

test('a key that is not Z85 is refused with a clear error', () => {
  expect(() => z85Key('short')).toThrow(/not a 40-character Z85 key/);
  expect(z85Text(z85Key(alice.publicKey))).toBe(alice.publicKey);
});

test('zrpc-keygen writes a key pair file and a public key file that work', async () => {
  const keygen = join(import.meta.dirname, '../dist/keygen.js');
  execFileSync(process.execPath, [keygen, join(dir, 'bob')], { cwd: dir });
  const bob = readKeyPair(join(dir, 'bob.key'));
  const { endpoint } = await curveServer(join(dir, 'bob.pub'));
  expect(await answered(client(endpoint, bob), 3000)).toBe(true);
  await nextTurns();
});

test('a CURVE server started right after the last one closed gets the ZAP handler back', async () => {
  // Closing the last CURVE server closes the process's ZAP handler; ZeroMQ
  // frees its inproc endpoint a moment later, so a new one must wait for it.
  for (let i = 0; i < 10; i++) {
    const { server, endpoint } = await curveServer([alice.publicKey]);
    expect(await answered(client(endpoint, alice), 3000)).toBe(true);
    for (const thing of open.splice(0).reverse()) await thing.close();
    expect(server.stats.calls).toBe(1);
  }
});
