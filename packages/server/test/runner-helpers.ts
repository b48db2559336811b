// Shared by the runner tests: the built CLI as a child process, fixture
// apps, and a raw DEALER that calls a served method.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventHeader } from '@zrpc/core';
import {
  decodeEvent,
  encodeEvent,
  MessageIdGenerator,
  PROTOCOL_VERSION,
} from '@zrpc/core/protocol';
import { until } from '@zrpc/testkit';
import { Dealer } from 'zeromq';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const APPS = fileURLToPath(new URL('./fixtures/apps/', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The CLI tests run dist/cli.js: refuse to test a build older than the sources. */
export function assertBuilt(): void {
  const built = statSync(CLI, { throwIfNoEntry: false })?.mtimeMs;
  const newest = Math.max(
    ...readdirSync(SRC, { recursive: true, encoding: 'utf8' }).map(
      (file) => statSync(join(SRC, file)).mtimeMs,
    ),
  );
  if (built === undefined || built < newest) {
    throw new Error(
      'dist/cli.js is missing or stale: run `pnpm --filter @zrpc/server build` first',
    );
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const WAIT_MS = 15_000;
const running = new Set<CliProcess>();

/** One `node dist/cli.js ...` child, its output collected as it comes. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(args: readonly string[], cwd: string) {
    const env = { ...process.env };
    // Set by npm and pnpm scripts; the runner's default name (and the status page's version) depend on them.
    delete env.npm_package_name;
    delete env.npm_package_version;
    delete env.NODE_OPTIONS;
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: 'pipe' });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        running.delete(this);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
    running.add(this);
  }

  /** The first match of `pattern` in stdout; fails if the process exits or takes too long. */
  waitForStdout(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.waitFor('stdout', pattern);
  }

  /**
   * The first match of `pattern` in stderr (the JSON log, written in batches
   * up to 10 ms after a line); fails if the process exits or takes too long.
   */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.waitFor('stderr', pattern);
  }

  private async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
    const exited = () => this.child.exitCode !== null || this.child.signalCode !== null;
    let match: RegExpMatchArray | null = null;
    await until(() => (match = this[stream].match(pattern)) !== null || exited(), WAIT_MS).catch(
      () => {},
    );
    if (match) return match;
    throw new Error(
      `no ${pattern} in the runner's ${stream}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`,
    );
  }

  /** The endpoint the runner printed once it listens. */
  async endpoint(): Promise<string> {
    return (await this.waitForStdout(/^Listening on (\S+)$/m))[1]!;
  }
}

export function startCli(args: readonly string[], cwd = APPS): CliProcess {
  return new CliProcess(args, cwd);
}

/** Run the CLI to its end (for runs that must fail at start). */
export function runCli(args: readonly string[], cwd = APPS): Promise<Exit> {
  return startCli(args, cwd).exited;
}

/** Kill whatever a test left running and wait for it to go. */
export async function stopAllClis(): Promise<void> {
  const left = [...running];
  for (const cli of left) cli.child.kill('SIGKILL');
  await Promise.all(left.map((cli) => cli.exited));
}

/**
 * A fresh project directory whose node_modules holds the package app
 * `@zrpc-fixtures/pkg-app` (a symlink to the fixture), as an installed
 * dependency would.
 */
export function projectWithPackageApp(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zrpc-runner-project-'));
  mkdirSync(join(dir, 'node_modules', '@zrpc-fixtures'), { recursive: true });
  symlinkSync(join(APPS, 'pkg-app'), join(dir, 'node_modules', '@zrpc-fixtures', 'pkg-app'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Reply {
  /** OK, ERR or STREAM_DONE. */
  name: string;
  args: unknown;
  header: EventHeader;
  /** The STREAM items received before the last event. */
  items: unknown[];
  /** How many `_zpc_hb` the server sent on the channel meanwhile. */
  heartbeats: number;
}

/** How often `callRaw` heart-beats: well inside any server heartbeat a test uses. */
const CLIENT_HEARTBEAT_MS = 50;

/**
 * Call `method` over a raw ZeroMQ DEALER and return the last reply event.
 * It heart-beats and grants stream credit like a live client, so slow calls
 * and streams of up to 100 items work. Aborting `signal`
 * closes the socket and rejects.
 */
export async function callRaw(
  endpoint: string,
  method: string,
  args: unknown[],
  signal?: AbortSignal,
): Promise<Reply> {
  const ids = new MessageIdGenerator();
  const dealer = new Dealer({
    linger: 0,
    receiveTimeout: WAIT_MS,
    ipv6: endpoint.startsWith('tcp://['),
  });
  dealer.connect(endpoint);
  const channel = ids.next();
  // zeromq.js allows one pending send: each send waits for the previous one.
  // Once the socket is closed they fail, and that is fine.
  let sending = Promise.resolve();
  const queue = (header: Partial<EventHeader>, name: string, eventArgs: unknown) => {
    const event = {
      header: { message_id: ids.next(), v: PROTOCOL_VERSION, ...header },
      name,
      args: eventArgs,
    };
    sending = sending.then(() => dealer.send(['', encodeEvent(event)])).catch(() => {});
  };
  queue({ message_id: channel }, method, args);
  // Heart-beat once the server does: a call shorter than its heartbeat sends
  // none, so no heartbeat of ours crosses the reply and reaches a closed channel.
  let beat: NodeJS.Timeout | undefined;
  const close = () => dealer.close();
  signal?.addEventListener('abort', close);
  try {
    const items: unknown[] = [];
    let heartbeats = 0;
    for (;;) {
      const frames = await dealer.receive();
      const event = decodeEvent(frames[frames.length - 1]!);
      if (event.name === '_zpc_hb') {
        heartbeats++;
        beat ??= setInterval(
          () => queue({ response_to: channel }, '_zpc_hb', [0]),
          CLIENT_HEARTBEAT_MS,
        );
      } else if (event.name === 'STREAM') {
        if (items.push(event.args) === 1) queue({ response_to: channel }, '_zpc_more', [100]);
      } else {
        return { ...event, items, heartbeats };
      }
    }
  } finally {
    clearInterval(beat);
    signal?.removeEventListener('abort', close);
    await sending;
    dealer.close();
  }
}
