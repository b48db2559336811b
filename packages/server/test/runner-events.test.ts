/**
 * `zrpc-server --pull` and `--subscribe` (and the config's `pull` and
 * `subscribe`): the runner serves events beside calls, or alone.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Publisher, Push } from 'zeromq';
import { eventFrame, until } from './events-helpers.js';
import { APPS, assertBuilt, callRaw, runCli, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

const sockets: Array<Push | Publisher> = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

function push(endpoint: string): Push {
  const socket = new Push({ linger: 0 });
  socket.connect(endpoint);
  sockets.push(socket);
  return socket;
}

describe('zrpc-server with events', () => {
  it('--pull without an addrport serves only events: each logged, a failure with its traceback', async () => {
    const cli = startCli(['--app', 'log-app', '--pull', '127.0.0.1:0']);
    const [, endpoint] = await cli.waitForStdout(/^Pulling events on (\S+)$/m);
    expect(cli.stdout).not.toMatch(/Listening on/);
    expect(cli.stdout).toMatch(/Pulling events on tcp:\/\/127\.0\.0\.1:\d+\nQuit with CONTROL-C\./);
    const pusher = push(endpoint!);
    await pusher.send(eventFrame('double', [21]));
    await pusher.send(eventFrame('explode', ['on purpose']));
    await until(() => /explode failed/.test(cli.stderr), 'the failure to be logged');
    const lines = cli.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.find((l) => l.method === 'double')).toMatchObject({
      level: 30,
      event: 'pushed',
      status: 'ok',
      msg: expect.stringMatching(/^double ok in [\d.]+ ms \(pushed event\)$/),
    });
    expect(lines.find((l) => l.method === 'explode')).toMatchObject({
      level: 50,
      status: 'error',
      err: { type: 'ValueError', message: 'on purpose', stack: expect.stringContaining('rpcs.ts') },
    });
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    // The last line says what the events did, beside the calls.
    const stop = JSON.parse(exit.stderr.trim().split('\n').at(-1)!);
    expect(stop).toMatchObject({
      signal: 'SIGTERM',
      calls: 0,
      eventsRun: 2,
      eventsFailed: 1,
      msg: expect.stringMatching(
        /stopped \(SIGTERM\) after 0 calls, 0 answered with an error; 2 events run, 1 failed$/,
      ),
    });
  });

  it('serves calls, pushed events and published events side by side', async () => {
    const pub = new Publisher({ linger: 0 });
    sockets.push(pub);
    await pub.bind('tcp://127.0.0.1:*');
    const cli = startCli([
      '127.0.0.1:0',
      '--app',
      'log-app',
      '--pull',
      'tcp://127.0.0.1:0',
      '--subscribe',
      pub.lastEndpoint!,
    ]);
    const endpoint = await cli.endpoint();
    const [, pullAt] = await cli.waitForStdout(/^Pulling events on (\S+)$/m);
    expect(cli.stdout).toContain(`Subscribed to events from ${pub.lastEndpoint}`);
    expect((await callRaw(endpoint, 'double', [4])).args).toEqual([8]);
    await push(pullAt!).send(eventFrame('double', [1]));
    // A subscriber hears what is published once its subscription arrived: publish until then.
    const published = () =>
      (cli.stderr.match(/"msg":"double ok in [\d.]+ ms \(published event\)"/g) ?? []).length;
    for (let i = 0; i < 1000 && published() === 0; i++) {
      await pub.send(eventFrame('double', [2]));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await until(() => published() > 0 && /\(pushed event\)/.test(cli.stderr), 'both events');
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('reads `pull` from the config file; with no address, it serves events only', async () => {
    const cli = startCli([], join(APPS, 'events-only'));
    const [, endpoint] = await cli.waitForStdout(/^Pulling events on (\S+)$/m);
    expect(cli.stdout).not.toMatch(/Listening on/);
    await push(endpoint!).send(eventFrame('double', [3]));
    await until(() => /double ok in/.test(cli.stderr), 'the event to run');
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('refuses a bad --pull or --subscribe address with exit code 2', async () => {
    const bad = await runCli(['--app', 'log-app', '--pull', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"abc" is not a valid port number or address:port pair.');
    const worse = await runCli(['--app', 'log-app', '--subscribe', '70000']);
    expect(worse.code).toBe(2);
    expect(worse.stderr).toContain('"70000" is not a valid port number.');
  });
});
