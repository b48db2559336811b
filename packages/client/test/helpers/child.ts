import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/server.mjs', import.meta.url));

/** A `@zrpc/server` in a child process (test/fixtures/server.mjs). */
export class ChildServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {}

  /** Start one on `endpoint` (default: a free port) with a heartbeat of `heartbeatMs`. */
  static async start(endpoint = 'tcp://127.0.0.1:*', heartbeatMs = 200): Promise<ChildServer> {
    const child = spawn(process.execPath, [SCRIPT, endpoint, String(heartbeatMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const [first] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the server process exited with ${code} before listening`);
      }),
    ])) as [string];
    lines.close();
    return new ChildServer(child, JSON.parse(first).endpoint);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM: the server stops taking calls, lets those in flight finish, and exits. */
  async terminate(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }

  /** SIGKILL: the server vanishes without a word, as in a crash. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}
