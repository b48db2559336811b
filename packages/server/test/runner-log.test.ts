// The zrpc-server command's log, run for real: JSON lines on stderr when it
// is not a terminal (stdout keeps the start banner), what each --verbosity
// shows, the start and stop lines.
import { until } from '@zrpc/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type CliProcess, callRaw, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function lines(cli: CliProcess): Line[] {
  return cli.stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);
}

/** Wait until the log holds a line matching `msg`. */
async function untilLogged(cli: CliProcess, msg: RegExp): Promise<Line> {
  let line: Line | undefined;
  await until(() => (line = lines(cli).find((l) => msg.test(l.msg))) !== undefined, 10_000).catch(
    () => {
      throw new Error(`no ${msg} in the log:\n${cli.stderr}`);
    },
  );
  return line!;
}

async function run(verbosity?: string) {
  const flags = verbosity === undefined ? [] : ['--verbosity', verbosity];
  const cli = startCli(['--app', 'log-app', '127.0.0.1:0', ...flags]);
  const endpoint = await cli.endpoint();
  return { cli, endpoint };
}

describe('at the default verbosity (1)', () => {
  it('logs the start, one line per call, failures with their traceback, and the stop', async () => {
    const { cli, endpoint } = await run();
    const start = await untilLogged(cli, /serving/);
    expect(start).toMatchObject({
      level: 30,
      endpoints: [endpoint],
      methods: 2,
      apps: ['log-app'],
      msg: expect.stringMatching(/^zrpc-server@\S+ serving 2 methods on tcp:\/\/127\.0\.0\.1:\d+$/),
    });

    expect(await callRaw(endpoint, 'double', [21])).toMatchObject({ name: 'OK', args: [42] });
    const ok = await untilLogged(cli, /^double /);
    expect(ok).toMatchObject({ level: 30, method: 'double', status: 'ok' });
    expect(ok.msg).toMatch(/^double ok in \d+\.\d ms \(peer [0-9a-f]+\)$/);

    expect(await callRaw(endpoint, 'explode', ['boom'])).toMatchObject({ name: 'ERR' });
    const failed = await untilLogged(cli, /^explode /);
    expect(failed).toMatchObject({ level: 50, method: 'explode', status: 'error' });
    expect(failed.msg).toMatch(/^explode failed in .*: ValueError: boom$/);
    expect((failed.err as { stack: string }).stack).toMatch(/fixtures\/apps\/log-app\/rpcs\.ts/);

    await callRaw(endpoint, '_zerorpc_ping', []);
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    const all = lines(cli);
    expect(all.at(-1)).toMatchObject({
      level: 30,
      signal: 'SIGTERM',
      calls: 3,
      errors: 1,
      msg: expect.stringMatching(/ stopped \(SIGTERM\) after 3 calls, 1 answered with an error$/),
    });
    // Built-in calls are not at this verbosity; nothing but the log is on stderr.
    expect(all.map((line) => line.method).filter(Boolean)).toEqual(['double', 'explode']);
    expect(exit.stdout).toMatch(/^Listening on tcp:/m);
  });
});

describe('--verbosity', () => {
  it('0 logs failures only', async () => {
    const { cli, endpoint } = await run('0');
    await callRaw(endpoint, 'double', [1]);
    await callRaw(endpoint, 'explode', ['only this']);
    await untilLogged(cli, /^explode failed/);
    expect(lines(cli).map((line) => line.level)).toEqual([50]);
  });

  it('2 adds the built-in calls', async () => {
    const { cli, endpoint } = await run('2');
    await callRaw(endpoint, '_zerorpc_ping', []);
    expect(await untilLogged(cli, /^_zerorpc_ping ok/)).toMatchObject({ level: 20 });
  });

  it('3 adds the arguments', async () => {
    const { cli, endpoint } = await run('3');
    await callRaw(endpoint, 'double', [4]);
    expect(await untilLogged(cli, /^double ok/)).toMatchObject({ args: [4] });
  });
});
