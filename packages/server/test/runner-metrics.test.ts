// `zrpc-server --metrics`: a real runner process serving its admin
// endpoint. Calls made to it show in /metrics by method and status,
// refusals included; /readyz turns 503 at SIGTERM while a slow call in
// flight still completes, and the process exits 0.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusView } from '../src/metrics.js';
import { configProblems } from '../src/runner/config-schema.js';
import { parseMetrics } from './metrics-helpers.js';
import {
  assertBuilt,
  type CliProcess,
  callRaw,
  runCli,
  startCli,
  stopAllClis,
} from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

/** A runner of the TypeScript fixture app with its admin endpoint on a free loopback port. */
async function runnerWithMetrics(): Promise<{ cli: CliProcess; endpoint: string; admin: string }> {
  const cli = startCli(['--app', 'ts-app', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
  const endpoint = await cli.endpoint();
  const admin = (await cli.waitForStdout(/^Status page and metrics on (http:\S+)$/m))[1]!;
  return { cli, endpoint, admin };
}

const count = (text: string, method: string, status: string) =>
  parseMetrics(text).find(
    (s) =>
      s.name === 'rpc_server_call_duration_seconds_count' &&
      s.labels.rpc_method === method &&
      s.labels.rpc_status_code === status,
  )?.value;

describe('zrpc-server --metrics', () => {
  it('serves /metrics with the calls made, refused ones under their status', async () => {
    const { endpoint, admin } = await runnerWithMetrics();
    expect(await callRaw(endpoint, 'greet', ['ops'])).toMatchObject({ name: 'OK' });
    expect(await callRaw(endpoint, 'greet', ['ops', '?'])).toMatchObject({ name: 'OK' });
    expect(await callRaw(endpoint, 'nope', [])).toMatchObject({ name: 'ERR' });
    expect(await callRaw(endpoint, 'greet', [])).toMatchObject({ name: 'ERR' });

    const text = await (await fetch(new URL('/metrics', admin))).text();
    expect(count(text, 'greet', 'ok')).toBe(2);
    expect(count(text, '_OTHER', 'unknown_method')).toBe(1);
    expect(count(text, 'greet', 'bad_arguments')).toBe(1);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    await expect.poll(async () => (await fetch(new URL('/readyz', admin))).status).toBe(200);
    const status = (await (await fetch(new URL('/status.json', admin))).json()) as StatusView;
    expect(status.methods.map((m) => m.name)).toEqual(
      expect.arrayContaining(['countTo', 'greet', 'slowEcho']),
    );
  });

  it('/readyz turns 503 at SIGTERM while a slow call in flight completes; then exits 0', async () => {
    const { cli, endpoint, admin } = await runnerWithMetrics();
    const reply = callRaw(endpoint, 'slowEcho', ['finished anyway', 1500]);
    await cli.waitForStdout(/^slowEcho started$/m);
    // Ready once serving (the admin thread hears of it within 50 ms).
    await expect.poll(async () => (await fetch(new URL('/readyz', admin))).status).toBe(200);
    cli.child.kill('SIGTERM');
    await cli.waitForStdout(/SIGTERM: finishing the calls in flight/);
    await expect
      .poll(async () => {
        const readiness = await fetch(new URL('/readyz', admin));
        return [readiness.status, await readiness.text()];
      })
      .toEqual([503, 'draining\n']);
    // Still alive, as long as it drains.
    expect((await fetch(new URL('/healthz', admin))).status).toBe(200);
    expect(await reply).toMatchObject({ name: 'OK', args: ['finished anyway'] });
    expect(await cli.exited).toMatchObject({ code: 0, signal: null });
  });

  it('refuses a bad --metrics address before anything starts (exit 2)', async () => {
    const exit = await runCli(['--app', 'ts-app', '--metrics', 'nine']);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain('--metrics: "nine" is not a valid admin address');
  });

  it('fails to start when the admin port is taken (exit 1), naming it', async () => {
    const { admin } = await runnerWithMetrics();
    const port = new URL(admin).port;
    const exit = await runCli(['--app', 'ts-app', '127.0.0.1:0', '--metrics', port]);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(`cannot serve the admin endpoint on ${port}`);
    expect(exit.stderr).toContain('EADDRINUSE');
  });

  it('is off unless asked for', async () => {
    const cli = startCli(['--app', 'ts-app', '127.0.0.1:0']);
    await cli.endpoint();
    await cli.waitForStdout(/^Quit with CONTROL-C\.$/m);
    expect(cli.stdout).not.toContain('Status page and metrics');
  });
});

describe('the config key metrics', () => {
  it('takes { address } in the forms --metrics takes', () => {
    expect(configProblems({ metrics: { address: '9464' } })).toEqual([]);
    expect(configProblems({ metrics: { address: '0.0.0.0:9464' } })).toEqual([]);
  });

  it('names what is wrong', () => {
    expect(configProblems({ metrics: { address: 'x' } })).toEqual([
      'metrics.address: "x" is not a valid admin address: give a port or host:port (9464, 0.0.0.0:9464, [::]:9464)',
    ]);
    expect(configProblems({ metrics: { port: 9464 } })).toEqual([
      'metrics.address: missing (metrics takes address), got undefined',
      'metrics.port: unknown key (metrics takes address)',
    ]);
    expect(configProblems({ metrics: '9464' })[0]).toMatch(/^metrics: expected an object/);
  });
});
