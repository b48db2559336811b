// A server and a reference client in processes of their own, and the ways a
// client can go that the server must notice: killed, stopped, cut off by
// the network (two network namespaces joined by a veth pair whose client
// end is taken down). Shared by lost-peers.test.ts and bench/lost-clients.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PEERS = fileURLToPath(new URL('./fixtures/peers/', import.meta.url));
const WAIT_MS = 15_000;

/** How the client goes: SIGKILL, SIGSTOP, or its network cut. */
export type CutOff = 'kill' | 'stop' | 'partition';

/** A child process whose stdout is read line by line. */
class Peer {
  readonly child: ChildProcess;
  output = '';

  constructor(command: string[], script: string, args: string[]) {
    const [file, ...prefix] = command.length > 0 ? command : [process.execPath];
    const node = command.length > 0 ? [process.execPath] : [];
    this.child = spawn(file!, [...prefix, ...node, PEERS + script, ...args], {
      cwd: PEERS,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
  }

  /** The first match of `pattern` in the output; fails when the process ends or after `ms`. */
  async line(pattern: RegExp, ms = WAIT_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} within ${ms} ms; output:\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stop(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
  }
}

/** Two network namespaces joined by a veth pair: the server's end and the client's. */
export class NamespacePair {
  private static count = 0;
  readonly server: string;
  readonly client: string;
  private readonly clientLink: string;
  readonly serverAddress: string;

  /** Creates them; throws with the kernel's or ip's own message when that is refused. */
  constructor() {
    const n = NamespacePair.count++;
    const tag = `${process.pid % 100_000}x${n}`;
    this.server = `zrpc-s${tag}`;
    this.client = `zrpc-c${tag}`;
    this.clientLink = `zc${tag}`;
    const serverLink = `zs${tag}`;
    // A /30 of 10.213.0.0/16 per pair; unused outside the two namespaces.
    const base = (n % 16_000) * 4;
    const octets = (i: number) => `10.213.${Math.floor((base + i) / 256)}.${(base + i) % 256}`;
    this.serverAddress = octets(1);
    ip('netns', 'add', this.server);
    try {
      ip('netns', 'add', this.client);
      ip(
        'link',
        'add',
        serverLink,
        'netns',
        this.server,
        'type',
        'veth',
        'peer',
        'name',
        this.clientLink,
        'netns',
        this.client,
      );
      ip('-n', this.server, 'addr', 'add', `${this.serverAddress}/30`, 'dev', serverLink);
      ip('-n', this.client, 'addr', 'add', `${octets(2)}/30`, 'dev', this.clientLink);
      ip('-n', this.server, 'link', 'set', serverLink, 'up');
      ip('-n', this.client, 'link', 'set', this.clientLink, 'up');
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  /** The client's cable pulled: nothing crosses, and neither side is told. */
  cut(): void {
    ip('-n', this.client, 'link', 'set', this.clientLink, 'down');
  }

  remove(): void {
    for (const name of [this.client, this.server]) {
      try {
        ip('netns', 'del', name);
      } catch {}
    }
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Why network namespaces cannot be used here, or undefined when they can:
 * the test that needs them says this and skips.
 */
export function namespacesRefused(): string | undefined {
  try {
    new NamespacePair().remove();
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (error as Error).message;
  }
}

/** A watch-server and a reference client calling its `wait`, ready to be cut off. */
export class LostClientRun {
  private readonly server: Peer;
  private client: Peer | undefined;
  private readonly namespaces: NamespacePair | undefined;

  /** `heartbeatMs` undefined: the server's defaults. */
  constructor(
    private readonly cutOff: CutOff,
    heartbeatMs?: number,
  ) {
    this.namespaces = cutOff === 'partition' ? new NamespacePair() : undefined;
    const host = this.namespaces?.serverAddress ?? '127.0.0.1';
    this.server = new Peer(this.inNamespace(this.namespaces?.server), 'watch-server.mjs', [
      `tcp://${host}:*`,
      ...(heartbeatMs === undefined ? [] : [String(heartbeatMs)]),
    ]);
  }

  /**
   * Start the client's call, cut the client off `cutAfterMs` after the
   * server started running it, and answer how the server ended the call (the error's name) and how
   * many ms after the cut; fails if that takes longer than `withinMs`.
   */
  async lost(withinMs: number, cutAfterMs = 0): Promise<{ reason: string; ms: number }> {
    const endpoint = (await this.server.line(/^listening (\S+)$/m))[1]!;
    // No heartbeat from the client: it plays one whose first is 30 s away.
    this.client = new Peer(this.inNamespace(this.namespaces?.client), 'reference-client.mjs', [
      endpoint,
      'wait',
      '[]',
      '0',
    ]);
    await this.server.line(/^started$/m);
    if (cutAfterMs > 0) await new Promise((resolve) => setTimeout(resolve, cutAfterMs));
    this.cut(this.client.child);
    this.server.child.stdin!.write('mark\n');
    const [, reason, ms] = await this.server.line(/^lost (\S+) (\d+)$/m, withinMs);
    return { reason: reason!, ms: Number(ms) };
  }

  close(): void {
    this.client?.stop();
    this.server.stop();
    this.namespaces?.remove();
  }

  private cut(client: ChildProcess): void {
    if (this.cutOff === 'kill') client.kill('SIGKILL');
    else if (this.cutOff === 'stop') client.kill('SIGSTOP');
    else this.namespaces!.cut();
  }

  private inNamespace(name: string | undefined): string[] {
    return name === undefined ? [] : ['ip', 'netns', 'exec', name];
  }
}
