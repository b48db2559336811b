/*
 * zrpc's events against the real zerorpc-python, both ways: its Pusher into
 * a zrpc Puller, a zrpc Pusher into its Puller, and the same for
 * Publisher/Subscriber (a zrpc Publisher with and without topic frames).
 * A check to run by hand where zerorpc-python runs (not in CI: it cannot be
 * installed there); see README.md beside this file.
 *
 *   ZERORPC_PYTHON=/path/to/zerorpc-python node --import tsx interop-python/events.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type CallEnd, currentCall, Registry } from '@zrpc/core';
import { Puller, Subscriber } from '@zrpc/server';
import { Publisher, Pusher } from '../src/index.js';

const python = process.env.PYTHON ?? 'python3';
const env = { ...process.env, PYTHONPATH: process.env.ZERORPC_PYTHON ?? '' };
const script = fileURLToPath(new URL('events.py', import.meta.url));
const BOUND_MS = 15_000;

/** The events pushed or published, as events.py sends them too. */
const EVENTS: Array<[string, unknown[]]> = [
  ['ticket_created', [42, 'printer on fire']],
  ['echo', [{ a: [1, 2.5, null] }, new Uint8Array([0, 0xff]), 2n ** 63n]],
  ['nope', []],
  ['boom', []],
  ['ticket_created', [43, 'after errors']],
  ['done', []],
];

// A failed step must not leave a python process holding its port.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill();
});

/** events.py in `mode`; its JSON lines as they come. */
function pythonSide(mode: string, endpoint: string) {
  const child: ChildProcess = spawn(python, [script, mode, endpoint], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines: any[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
  const until = async (what: string, test: () => boolean) => {
    const deadline = performance.now() + BOUND_MS;
    while (!test()) {
      if (performance.now() > deadline) throw new Error(`python ${mode}: no ${what}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, lines, until, stderr: () => stderr };
}

/** A zrpc registry with the handlers events.py has, recording what ran. */
function handlers() {
  const registry = new Registry();
  const ran: unknown[] = [];
  const note =
    (name: string) =>
    (...args: unknown[]) => {
      ran.push({ ran: name, args, context: currentCall()?.taskContext });
    };
  registry.register(note('ticket_created'), { name: 'ticket_created', args: ['id', 'title'] });
  registry.register(note('echo'), { name: 'echo', args: [{ name: 'args', rest: true }] });
  registry.register(note('probe'), { name: 'probe', args: [] });
  registry.register(note('done'), { name: 'done', args: [] });
  registry.register(
    function boom() {
      throw new Error('boom');
    },
    { name: 'boom' },
  );
  return { registry, ran };
}

// Buffer's toJSON runs before a replacer sees it: `{ type: 'Buffer', data }`.
const show = (value: unknown) =>
  JSON.stringify(value, (_k, v) =>
    typeof v === 'bigint'
      ? `${v}n`
      : v?.type === 'Buffer'
        ? `bytes(${Buffer.from(v.data).toString('hex')})`
        : v,
  );
const quiet = { info() {}, warn() {}, error() {} };
const taskContext = [
  async (ctx: { taskContext: Record<string, unknown> }, next: () => Promise<void>) => {
    ctx.taskContext.trace_id = 'from-zrpc';
    await next();
  },
];

async function pythonPusherToZrpcPuller(): Promise<void> {
  console.log('zerorpc-python Pusher -> zrpc Puller');
  const { registry, ran } = handlers();
  const ends: CallEnd[] = [];
  const puller = new Puller({ registry, logger: quiet, observers: [(end) => ends.push(end)] });
  await puller.bind('tcp://127.0.0.1:*');
  const py = pythonSide('push', puller.endpoints[0]!);
  await py.until('done to run', () => ends.some((end) => end.method === 'done'));
  for (const line of ran) console.log(`  ran ${show(line)}`);
  console.log(`  ends: ${ends.map((end) => `${end.method}=${end.status}`).join(' ')}`);
  await puller.close();
}

async function zrpcPusherToPythonPuller(): Promise<void> {
  console.log('zrpc Pusher -> zerorpc-python Puller');
  const py = pythonSide('pull', 'tcp://127.0.0.1:4731');
  await py.until('ready', () => py.lines.some((line) => line.ready));
  const pusher = new Pusher({ endpoints: 'tcp://127.0.0.1:4731', middleware: taskContext });
  for (const [name, args] of EVENTS) await pusher.push(name, ...args);
  await py.until('done to run', () => py.lines.some((line) => line.ran === 'done'));
  await pusher.close();
  for (const line of py.lines.filter((line) => line.ran)) console.log(`  python ran ${show(line)}`);
  const logged = py.stderr().match(/^(NameError|ValueError).*$/gm) ?? [];
  console.log(`  python logged: ${logged.join(' | ')}`);
}

async function pythonPublisherToZrpcSubscriber(): Promise<void> {
  console.log('zerorpc-python Publisher -> zrpc Subscriber');
  const py = pythonSide('publish', 'tcp://127.0.0.1:4732');
  await py.until('ready', () => py.lines.some((line) => line.ready));
  const { registry, ran } = handlers();
  const ends: CallEnd[] = [];
  const subscriber = new Subscriber({
    registry,
    logger: quiet,
    observers: [(end) => ends.push(end)],
  });
  await subscriber.connect('tcp://127.0.0.1:4732');
  await py.until('a probe to arrive', () => ends.length > 0);
  py.child.stdin!.write('go\n');
  await py.until('done to run', () => ends.some((end) => end.method === 'done'));
  const events = ran.filter((line) => (line as { ran: string }).ran !== 'probe');
  for (const line of events) console.log(`  ran ${show(line)}`);
  const real = ends.filter((end) => end.method !== 'probe');
  console.log(`  ends: ${real.map((end) => `${end.method}=${end.status}`).join(' ')}`);
  await subscriber.close();
}

async function zrpcPublisherToPythonSubscriber(topics: boolean): Promise<void> {
  console.log(`zrpc Publisher (topics: ${topics}) -> zerorpc-python Subscriber`);
  const publisher = new Publisher({ topics, middleware: taskContext });
  await publisher.bind('tcp://127.0.0.1:*');
  const py = pythonSide('subscribe', publisher.endpoints[0]!);
  await py.until('ready', () => py.lines.some((line) => line.ready));
  const deadline = performance.now() + BOUND_MS;
  while (!py.lines.some((line) => line.ran === 'probe') && performance.now() < deadline) {
    await publisher.publish('probe');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const [name, args] of EVENTS) await publisher.publish(name, ...args);
  await py.until('done to run', () => py.lines.some((line) => line.ran === 'done'));
  await publisher.close();
  for (const line of py.lines.filter((line) => line.ran && line.ran !== 'probe')) {
    console.log(`  python ran ${show(line)}`);
  }
  const logged = py.stderr().match(/^(NameError|ValueError).*$/gm) ?? [];
  console.log(`  python logged: ${logged.join(' | ')}`);
}

try {
  await pythonPusherToZrpcPuller();
  await zrpcPusherToPythonPuller();
  await pythonPublisherToZrpcSubscriber();
  await zrpcPublisherToPythonSubscriber(false);
  await zrpcPublisherToPythonSubscriber(true);
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
