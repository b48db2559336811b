// The zrpc-server command line and its settings, run for real: node
// dist/cli.js in a child process, called over ZeroMQ.
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Router } from 'zeromq';
import { APPS, assertBuilt, callRaw, runCli, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

describe('zrpc-server command line', () => {
  it('refuses a bad addrport with exactly Django’s message and exit code 2', async () => {
    const exit = await runCli(['--app', 'js-app', 'abc']);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe('"abc" is not a valid port number or address:port pair.\n');
    expect(exit.stdout).toBe('');
  });

  it('prints its usage with --help and exits 0', async () => {
    const exit = await runCli(['--help']);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: zrpc-server \[addrport\] \[--app <dir or package>\]/);
    expect(exit.stderr).toBe('');
  });

  it('exits 2 when no app is given', async () => {
    const exit = await runCli(['127.0.0.1:0']);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe(
      'no apps to serve: give --app <directory or package>, or list apps in zrpc.config.ts\n',
    );
  });

  it('exits 1 naming an app it cannot find', async () => {
    const exit = await runCli(['--app', 'js-app', '--app', './nowhere', '127.0.0.1:0']);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe(`app "./nowhere": directory ${resolve(APPS, 'nowhere')} not found\n`);
  });

  it('exits 1 saying that a host name does not resolve, before any app code runs', async () => {
    const exit = await runCli(['--app', 'broken', 'nosuch.invalid:4242']);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe(
      'cannot listen on tcp://nosuch.invalid:4242: host "nosuch.invalid" does not resolve (ENOTFOUND); give an IP address or a name this machine resolves\n',
    );
  });

  it('exits 1 when the address is taken', async () => {
    const holder = new Router({ linger: 0 });
    await holder.bind('tcp://127.0.0.1:0');
    try {
      const taken = holder.lastEndpoint!;
      const exit = await runCli(['--app', 'js-app', taken.slice('tcp://'.length)]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(`cannot listen on ${taken}: Address already in use\n`);
    } finally {
      holder.close();
    }
  });
});

describe('settings', () => {
  const configured = join(APPS, 'configured');

  it('reads zrpc.config.ts from the cwd: apps relative to it, address, server options, middleware', async () => {
    const cli = startCli([], configured);
    const endpoint = await cli.endpoint();
    expect(cli.stdout.split('\n').slice(0, 2)).toEqual([
      `app "../js-app": 1 method from ${join(APPS, 'js-app', 'rpcs.js')}`,
      `app "../index-app": 1 method from ${join(APPS, 'index-app', 'rpcs', 'index.ts')}`,
    ]);
    expect(await callRaw(endpoint, '_zerorpc_name', [])).toMatchObject({
      args: ['configured-by-file'],
    });
    const reply = await callRaw(endpoint, 'jsAdd', [1, 1]);
    expect(reply).toMatchObject({ name: 'OK', args: [2] });
    expect(reply.header.configured_by).toBe('zrpc.config.ts');
  });

  it('lets the command line override the config file, found with --config', async () => {
    const cli = startCli([
      '--config',
      'configured/zrpc.config.ts',
      '--app',
      'ts-app',
      '--name',
      'from-the-command-line',
      '127.0.0.1:0',
    ]);
    const endpoint = await cli.endpoint();
    expect(cli.stdout).toMatch(/^app "ts-app": 3 methods from ts-app\/rpcs\.ts\nServing 3/);
    expect(await callRaw(endpoint, '_zerorpc_name', [])).toMatchObject({
      args: ['from-the-command-line'],
    });
    // The config's middleware still applies.
    const reply = await callRaw(endpoint, 'greet', ['Bob', '?']);
    expect(reply).toMatchObject({ args: ['Hello, Bob?'] });
    expect(reply.header.configured_by).toBe('zrpc.config.ts');
  });

  it('exits 2 when --config names no file', async () => {
    const exit = await runCli(['--config', 'nowhere.config.ts', '--app', 'js-app']);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe(`config file ${join(APPS, 'nowhere.config.ts')} not found\n`);
  });

  it('exits 1 naming the config file, the key and the expected value for a bad option', async () => {
    const dir = join(APPS, 'bad-server-option');
    const exit = await runCli([], dir);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe('');
    expect(exit.stderr).toBe(
      [
        `config ${join(dir, 'zrpc.config.mjs')}: server.heartbeatMs: expected a positive number of milliseconds, got "5000" (string)`,
        `config ${join(dir, 'zrpc.config.mjs')}: server.heartbeat: unknown key (server takes name, heartbeatMs, assumedPeerHeartbeatMs, tracebacks, concurrency, reservedSlots, queueLimit, maxChannelsPerPeer, logger, socket, sendBudget, workers, blockWarnMs, curve)`,
        '',
      ].join('\n'),
    );
  });

  it('heart-beats at the --heartbeat interval', async () => {
    const cli = startCli(['--app', 'ts-app', '--heartbeat', '0.25', '127.0.0.1:0']);
    const endpoint = await cli.endpoint();
    // At the default 5 s heartbeat, a 1.5 s call sees no heartbeat at all.
    const reply = await callRaw(endpoint, 'slowEcho', ['x', 1500]);
    expect(reply).toMatchObject({ name: 'OK', args: ['x'] });
    expect(reply.heartbeats).toBeGreaterThanOrEqual(1);
  });
});
