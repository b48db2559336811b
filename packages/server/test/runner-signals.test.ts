// Shutdown of the zrpc-server command: a real child process, a real call in
// flight, a real signal.
import { hostname } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, callRaw, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

/** A runner serving the TypeScript fixture app, with `slowEcho` running. */
async function runnerWithCallInFlight(ms: number, signal?: AbortSignal) {
  const cli = startCli(['--app', 'ts-app', '127.0.0.1:0']);
  const endpoint = await cli.endpoint();
  const reply = callRaw(endpoint, 'slowEcho', ['still answered', ms], signal);
  await cli.waitForStdout(/^slowEcho started$/m);
  return { cli, reply };
}

describe.each(['SIGINT', 'SIGTERM'] as const)('on %s', (signal) => {
  it('answers the call in flight, then exits 0', async () => {
    const { cli, reply } = await runnerWithCallInFlight(1000);
    cli.child.kill(signal);
    expect(await reply).toMatchObject({ name: 'OK', args: ['still answered'] });
    const exit = await cli.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // The log's last line says why the server stopped, and what it did.
    const last = JSON.parse(exit.stderr.trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({
      level: 30,
      signal,
      calls: 1,
      errors: 0,
      msg: `zrpc-server@${hostname()} stopped (${signal}) after 1 call, 0 answered with an error`,
    });
    expect(exit.stdout).toContain(
      `${signal}: finishing the calls in flight, then exiting (${signal} again to force)\n`,
    );
  });

  it('exits at once, with 128 + the signal number, on a second signal', async () => {
    const abandoned = new AbortController();
    const { cli, reply } = await runnerWithCallInFlight(60_000, abandoned.signal);
    cli.child.kill(signal);
    await cli.waitForStdout(/finishing the calls in flight/);
    cli.child.kill(signal);
    const exit = await cli.exited;
    expect(exit.code).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(exit.stderr).toMatch(new RegExp(`\n${signal}: exiting now\n$`));
    abandoned.abort();
    await expect(reply).rejects.toThrow();
  });
});
