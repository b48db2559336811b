/**
 * Memory under load: a server whose one method waits 3 s receives 10,000
 * calls at once (10 raw DEALER clients × 1,000 requests), and must answer
 * them all. The server runs in a child process (bench/slow-server.mjs, on
 * the compiled dist/ with plain Node.js) that samples its own RSS; this
 * process plays the clients and prints the figures.
 *
 *   pnpm --filter @zrpc/server build && pnpm --filter @zrpc/server bench
 *
 * Target: peak server RSS under 150 MB.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeEvent, encodeEvent, MessageIdGenerator } from '@zrpc/core/protocol';
import { Dealer } from 'zeromq';

const CLIENTS = 10;
const CALLS_PER_CLIENT = 1000;
const CALLS = CLIENTS * CALLS_PER_CLIENT;
const HANDLER_MS = 3000;
const TARGET_MB = 150;
const MB = 1024 * 1024;

type FromServer =
  | { type: 'ready'; endpoint: string; rss: number }
  | { type: 'report'; peakRss: number; peakOpen: number; stats: Record<string, number> };

const serverScript = fileURLToPath(new URL('./slow-server.mjs', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
  console.error('bench/memory.ts measures the compiled server: build it first (pnpm build).');
  process.exit(1);
}
await drive();

/** The parent: open every call at once, wait for every answer, print the figures. */
async function drive(): Promise<void> {
  const child = fork(serverScript, [], {
    execArgv: [],
    env: { ...process.env, ZRPC_BENCH: JSON.stringify({ HANDLER_MS, CALLS, CALLS_PER_CLIENT }) },
  });
  const ready = (await nextMessage(child)) as Extract<FromServer, { type: 'ready' }>;

  const clients = Array.from({ length: CLIENTS }, () => {
    const socket = new Dealer({ linger: 0 });
    socket.connect(ready.endpoint);
    return socket;
  });
  const started = performance.now();
  const answered = await Promise.all(clients.map((socket) => callMany(socket)));
  const elapsed = performance.now() - started;

  child.send('report');
  const report = (await nextMessage(child)) as Extract<FromServer, { type: 'report' }>;
  for (const socket of clients) socket.close();
  await once(child, 'exit');

  const ok = answered.reduce((sum, n) => sum + n, 0);
  const peakMb = report.peakRss / MB;
  console.log(`calls opened at once:      ${CALLS} (${CLIENTS} clients x ${CALLS_PER_CLIENT})`);
  console.log(`handler time:              ${HANDLER_MS} ms`);
  console.log(`most calls open at once:   ${report.peakOpen}`);
  console.log(`answered OK:               ${ok} / ${CALLS}`);
  console.log(`all answered after:        ${(elapsed / 1000).toFixed(2)} s`);
  console.log(`server RSS before calls:   ${(ready.rss / MB).toFixed(1)} MB`);
  console.log(`server peak RSS:           ${peakMb.toFixed(1)} MB (target < ${TARGET_MB} MB)`);
  console.log(`server stats:              ${JSON.stringify(report.stats)}`);
  if (ok !== CALLS || peakMb >= TARGET_MB) process.exitCode = 1;
}

/** Send CALLS_PER_CLIENT requests back to back, then count the OK replies. */
async function callMany(socket: Dealer): Promise<number> {
  const ids = new MessageIdGenerator();
  for (let i = 0; i < CALLS_PER_CLIENT; i++) {
    const request = encodeEvent({
      header: { message_id: ids.next(), v: 3 },
      name: 'slow',
      args: [i],
    });
    await socket.send([Buffer.alloc(0), request]);
  }
  let ok = 0;
  for (let i = 0; i < CALLS_PER_CLIENT; i++) {
    const frames = await socket.receive();
    if (decodeEvent(frames[frames.length - 1]!).name === 'OK') ok++;
  }
  return ok;
}

function nextMessage(child: ChildProcess): Promise<FromServer> {
  return once(child, 'message').then(([message]) => message as FromServer);
}
