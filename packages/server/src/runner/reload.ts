import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { relative } from 'node:path';
import { type ChildMessage, type ParentMessage, RELOAD_CHILD_ENV } from './reload-child.js';
import { SourceWatcher } from './reload-watch.js';
import type { RunnerLog } from './run.js';

/*
 * `zrpc-server --reload`, the counterpart of Django's autoreloader: this
 * process serves nothing itself; it runs the server in a child process,
 * watches the files that server loaded (its apps, what they import, the
 * config; not node_modules), and on a change starts a fresh child and
 * hands the port over to it:
 *
 * 1. The new child loads the config and the apps and makes its server,
 *    but does not bind (ZeroMQ binds a port once): it says `ready`. If it
 *    fails instead (a syntax or import error), its error is printed and
 *    the old child keeps serving; the next change tries again.
 * 2. The old child gets SIGTERM: as on any SIGTERM it stops taking calls
 *    (new requests get ServerDrainingError, which a zrpc client holds until
 *    the server is back at that address and then sends again), answers the
 *    calls in flight within the grace period, keeps its socket open for the
 *    drain period so that clients read those replies, closes it and exits.
 * 3. Then the new child binds the same endpoint (the port a first bind to
 *    port 0 got, too). A zrpc client connects to it again and sends what
 *    waited: its requests are only queued to a completed connection.
 *
 * So every call is answered by one server or the other (see the server
 * README's "Reloading"). `node --watch` is lighter, but restarts the
 * process at once and drops the calls in flight.
 */

/** One server process the reloader started. */
interface Child {
  readonly process: ChildProcess;
  /** Loading its apps, then waiting for the port, then serving. */
  state: 'starting' | 'ready' | 'listening';
  /** Told to stop (its successor is ready): its exit is expected. */
  retiring: boolean;
  /** Its exit code (128 + the signal number when a signal ended it). */
  readonly exited: Promise<number>;
}

/** Why `--reload` (or the config's `reload`) is refused here, if it is. */
export function reloadRefused(): string | undefined {
  return process.env.NODE_ENV === 'production'
    ? 'reloading is for development: it is refused with NODE_ENV=production'
    : undefined;
}

/**
 * Run `zrpc-server` with `args` (the command line without `--reload`) in
 * child processes, starting a fresh one on each change to the files they
 * load or to `alsoWatch` (the config file). Signals are passed on to the
 * children; this process exits when they have.
 */
export function superviseReloads(
  args: readonly string[],
  alsoWatch: readonly string[],
  log: RunnerLog,
): void {
  new Reloader(args, alsoWatch, log).start();
}

class Reloader {
  /** The child that serves (or served last and is leaving). */
  private serving: Child | undefined;
  /** The child loading the latest files, if any. */
  private starting: Child | undefined;
  /** A change came while a child was starting: start another once it is done. */
  private changedMeanwhile = false;
  private stopping = false;
  private exitCode = 0;
  private readonly live = new Set<Child>();
  /** What each endpoint a child was told to bind resolved to (port 0, resolved once). */
  private readonly bound = new Map<string, string>();
  private readonly watcher: SourceWatcher;

  constructor(
    private readonly args: readonly string[],
    alsoWatch: readonly string[],
    private readonly log: RunnerLog,
  ) {
    this.watcher = new SourceWatcher((file) => this.changed(file));
    this.watcher.add(alsoWatch);
  }

  start(): void {
    this.log.info(
      'Reloading on changes to the apps, what they import and the config (--reload: for development).',
    );
    process.on('SIGINT', (signal) => this.stop(signal));
    process.on('SIGTERM', (signal) => this.stop(signal));
    // A CURVE server re-reads its allow-list.
    process.on('SIGHUP', () => this.serving?.process.kill('SIGHUP'));
    this.next();
  }

  private changed(file: string): void {
    if (this.stopping) return;
    this.log.info(`${relative(process.cwd(), file) || file} changed, reloading.`);
    if (this.starting !== undefined) this.changedMeanwhile = true;
    else this.next();
  }

  private next(): void {
    this.changedMeanwhile = false;
    const child = this.spawn();
    this.starting = child;
  }

  private spawn(): Child {
    const server = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...this.args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [RELOAD_CHILD_ENV]: '1' },
      // Its own process group: a CONTROL-C in the terminal reaches this
      // process only, which passes it on once (a second would force).
      detached: true,
    });
    const exited = new Promise<number>((resolve) => {
      server.on('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)),
      );
    });
    const child: Child = { process: server, state: 'starting', retiring: false, exited };
    this.live.add(child);
    server.on('message', (message: ChildMessage) => this.heard(child, message));
    void exited.then((code) => this.gone(child, code));
    return child;
  }

  private heard(child: Child, message: ChildMessage): void {
    switch (message?.zrpc) {
      case 'files':
        this.watcher.add(message.files);
        return;
      case 'ready':
        child.state = 'ready';
        void this.handOver(child, message.endpoint);
        return;
      case 'listening':
        child.state = 'listening';
        this.bound.set(message.requested, message.endpoint);
        this.serving = child;
        if (this.starting === child) this.starting = undefined;
        this.watcher.anySource = false;
        if (this.changedMeanwhile && !this.stopping) this.next();
        return;
    }
  }

  /** The old server leaves the port (answering its calls first), then the new one binds it. */
  private async handOver(child: Child, endpoint: string): Promise<void> {
    const old = this.serving;
    if (old !== undefined) {
      old.retiring = true;
      old.process.kill('SIGTERM');
      await old.exited;
    }
    if (this.stopping || !this.live.has(child)) return;
    child.process.send({
      zrpc: 'bind',
      endpoint: this.bound.get(endpoint) ?? endpoint,
    } satisfies ParentMessage);
  }

  private gone(child: Child, code: number): void {
    this.live.delete(child);
    if (this.serving === child) this.serving = undefined;
    if (this.stopping) {
      if (child.state === 'listening') this.exitCode = code;
      if (this.live.size === 0) process.exit(this.exitCode);
      return;
    }
    if (child === this.starting) {
      this.starting = undefined;
      if (child.state === 'ready') {
        // It loaded the apps but could not listen (the address is taken): no server runs.
        this.log.error(`The new server could not listen (exit ${code}): stopping.`);
        this.stopping = true;
        this.watcher.close();
        this.exitCode = code;
        if (this.live.size === 0) process.exit(code);
        return;
      }
      this.watcher.anySource = true;
      this.log.error(
        this.serving === undefined
          ? `The server did not start (exit ${code}); waiting for a change.`
          : `The new server did not start (exit ${code}); the previous one keeps serving until a change fixes it.`,
      );
      if (this.changedMeanwhile) this.next();
    } else if (!child.retiring && this.starting === undefined) {
      this.watcher.anySource = true;
      this.log.error(`The server exited (code ${code}); waiting for a change to start it again.`);
    }
  }

  /** The first signal goes to the servers (they finish their calls); a second forces them. */
  private stop(signal: NodeJS.Signals): void {
    const again = this.stopping;
    this.stopping = true;
    this.watcher.close();
    if (this.live.size === 0) process.exit(this.exitCode);
    for (const child of this.live) {
      // One leaving already got its SIGTERM: only a second signal is passed on to it.
      if (again || !child.retiring) child.process.kill(signal);
    }
  }
}
