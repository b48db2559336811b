import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '@zrpc/server';
import { loadVectors, until } from '@zrpc/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { curveKeyPair, Router } from 'zeromq';
import { Client } from '../src/index.js';
import { ReplayServer } from './helpers/replay-server.js';
import { startServer } from './helpers/server.js';

// The CLI as users run it: the built bin in a child process.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function zrpc(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `zrpc` against a server that is up: its connect timeout (2 s by default)
 * is only a hang guard here, so it is generous for a machine busy with the
 * other concurrent tests.
 */
function zrpcUp(...args: string[]): Promise<Run> {
  return zrpc('--connect-timeout', '10', ...args);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm build\` in packages/client`);
});

describe.concurrent('zrpc against a @zrpc/server', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    ({ server, endpoint } = await startServer());
  });
  afterAll(() => server.close({ graceMs: 0 }));

  test('lists the methods with their arguments and docs', async () => {
    const { code, stdout } = await zrpcUp(endpoint);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('[provider]');
    expect(lines).toContain('add(a, b)');
    expect(lines).toContain('ticks(n, gapMs, firstMs=0)');
    expect(lines.find((l) => l.startsWith('greet('))).toMatch(
      /^greet\(name, punctuation="!"\)\s+Say hello\.$/,
    );
    // Sorted by name, built-ins not listed.
    const names = lines.slice(1).map((l) => l.split('(')[0]);
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain('_zerorpc_ping');
  });

  test('calls a method; arguments are JSON when they parse, strings otherwise', async () => {
    const runs = await Promise.all([
      zrpcUp(endpoint, 'add', '1', '2'),
      zrpcUp(endpoint, 'add', '-1', '-2'),
      zrpcUp(endpoint, 'greet', 'world', '?'),
      zrpcUp(endpoint, 'greet', '"42"'),
      zrpcUp(endpoint, 'add', '[1]', '[2]'),
      // host:port means tcp://host:port.
      zrpcUp(endpoint.replace('tcp://', ''), 'pair'),
    ]);
    expect(runs[0]).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    expect(runs.slice(1).map((r) => r.stdout)).toEqual([
      '-3\n',
      "'Hello, world?'\n",
      "'Hello, 42!'\n",
      "'12'\n",
      "[ 1, 'two' ]\n",
    ]);
  });

  test('prints bytes and big integers exactly, in both output modes', async () => {
    const runs = await Promise.all([
      zrpcUp(endpoint, 'big'),
      zrpcUp(endpoint, '--json', 'big'),
      zrpcUp(endpoint, 'blob', '5'),
      zrpcUp(endpoint, 'blob', '4', '--json'),
      zrpcUp('--json', endpoint, 'pair'),
    ]);
    // The whole outcome: a run that failed shows its error, not just no output.
    const printed = [
      '9223372036854775808\n',
      '9223372036854775808\n',
      "b'\\x00\\x01\\xfe\\xff\\x00'\n",
      '{"$bin":"0001feff"}\n',
      '[1,"two"]\n',
    ];
    expect(runs).toEqual(printed.map((stdout) => ({ code: 0, stdout, stderr: '' })));
  });

  test('prints a stream one item per line', async () => {
    expect(await zrpcUp(endpoint, 'count', '3')).toEqual({
      code: 0,
      stdout: '0\n1\n2\n',
      stderr: '',
    });
    expect((await zrpcUp(endpoint, '--json', 'words', 'a b')).stdout).toBe('"a"\n"b"\n');
  });

  test('a remote error goes to stderr as `Name: message`, with exit code 1', async () => {
    expect(await zrpcUp(endpoint, 'fail', 'oops')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ValueError: oops\n',
    });
    expect((await zrpcUp(endpoint, 'nope')).stderr).toBe('NameError: nope\n');
  });

  test('takes the addresses zrpc-server takes: a bare port means 127.0.0.1', async () => {
    const port = endpoint.slice(endpoint.lastIndexOf(':') + 1);
    expect(await zrpcUp(port, 'add', '1', '2')).toEqual({ code: 0, stdout: '3\n', stderr: '' });
  });

  test('reaches a server on an IPv6 address given as [ipv6]:port', async () => {
    // Bound while the concurrent tests' calls are being answered: a bind
    // must not lose their replies (it once did, see @zrpc/server's bind()).
    await server.bind('tcp://[::1]:*');
    const ipv6 = server.endpoints.find((e) => e.startsWith('tcp://[::1]:'))!;
    expect(await zrpcUp(ipv6.slice('tcp://'.length), 'add', '1', '2')).toEqual({
      code: 0,
      stdout: '3\n',
      stderr: '',
    });
  });

  test('a reader that leaves early (`| head -1`) ends a stream quietly with exit code 0', async () => {
    const script = `"${process.execPath}" "${CLI}" ${endpoint} count 100000 2>"$ERR" | head -1; echo "\${PIPESTATUS[0]}"`;
    const dir = mkdtempSync(join(tmpdir(), 'zrpc-cli-epipe-'));
    try {
      const err = join(dir, 'stderr');
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          'bash',
          ['-c', script],
          { env: { ...process.env, ERR: err }, timeout: 15_000 },
          (error, out) => (error ? reject(error) : resolve(out)),
        );
      });
      expect(stdout).toBe('0\n0\n');
      expect(readFileSync(err, 'utf8')).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--timeout and --heartbeat take seconds', async () => {
    const run = await zrpcUp(endpoint, 'slow', '3000', '--timeout', '0.2', '--heartbeat=2');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('TimeoutError: timeout after 0.2s, when calling remote method slow\n');
  });
});

/** A port nobody listens on: bound by the OS for a moment, then let go. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.concurrent('zrpc with no server to answer', () => {
  test('says so within its connect timeout, naming the endpoint, however long the call timeout', async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await zrpc('--timeout', '60', `127.0.0.1:${port}`, 'add', '1', '2');
    // Well under the 60 s call timeout: the default connect timeout is 2 s.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `zrpc: no server answers at tcp://127.0.0.1:${port}: nothing accepted a connection within 2s (--connect-timeout <seconds> waits longer)\n`,
    });
  });

  test('--connect-timeout sets how long it waits; listing the methods is no different', async () => {
    const port = await freePort();
    const run = await zrpc('--connect-timeout', '0.5', String(port));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `zrpc: no server answers at tcp://127.0.0.1:${port}: nothing accepted a connection within 0.5s (--connect-timeout <seconds> waits longer)\n`,
    );
  });

  test('names a host that does not resolve', async () => {
    expect(await zrpc('--timeout', '60', 'nosuch.invalid:4242', 'add', '1', '2')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'zrpc: cannot reach tcp://nosuch.invalid:4242: host "nosuch.invalid" does not resolve (ENOTFOUND)\n',
    });
  });
});

describe.concurrent('zrpc usage', () => {
  test('bad usage: the reason and the usage on stderr, exit code 2', async () => {
    const run = await zrpc('--timeout', 'soon', 'tcp://127.0.0.1:1');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      'zrpc: --timeout takes a positive number of seconds (or 500ms, 1.5s), not "soon"\n',
    );
    expect(run.stderr).toContain('usage: zrpc [options] <endpoint>');
  });

  test('--help prints the usage on stdout', async () => {
    const run = await zrpc('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: zrpc/);
  });
});

describe.concurrent('zrpc against the recorded zerorpc-python server', () => {
  const vectors = loadVectors('zerorpc-python-server.json');
  let replay: ReplayServer;
  beforeAll(async () => {
    // The server sends as the client's credit allows (the CLI's client grants its own window).
    replay = await ReplayServer.start(vectors.scenarios, { followCredit: true });
  });
  afterAll(() => replay.close());

  test('lists the methods from its recorded _zerorpc_inspect reply', async () => {
    const { code, stdout } = await zrpcUp(replay.endpoint);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('[Peer]');
    // zerorpc-python lists `self`, which is no RPC argument.
    expect(lines[1]).toMatch(/^add\(a, b\)\s+Return a \+ b\.$/);
    expect(lines).toContain('slow_stream(n, secs)');
    expect(lines).toHaveLength(13);
  });

  test('calls its methods', async () => {
    const runs = await Promise.all([
      zrpcUp(replay.endpoint, 'add', '1', '2'),
      zrpcUp(replay.endpoint, 'hello', 'wörld ☃'),
      zrpcUp(replay.endpoint, 'echo_args', '1', 'a', '[2]'),
      zrpcUp(replay.endpoint, 'blob', '64', '--json'),
    ]);
    expect(runs.map((r) => r.stdout)).toEqual([
      '3\n',
      "'Hello, wörld ☃'\n",
      "[ 1, 'a', [ 2 ] ]\n",
      `{"$bin":"${'0001feff'.repeat(16)}"}\n`,
    ]);
  });

  test('streams from it, within the credit the client grants', async () => {
    const run = await zrpcUp(replay.endpoint, 'count', '250');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(Array.from({ length: 250 }, (_, i) => `${i}\n`).join(''));
  });

  test('reports its errors', async () => {
    expect(await zrpcUp(replay.endpoint, 'boom')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ValueError: bad thing\n',
    });
    const stream = await zrpcUp(replay.endpoint, 'count_then_fail', '2');
    expect([stream.code, stream.stdout, stream.stderr]).toEqual([
      1,
      '0\n1\n',
      "KeyError: 'after 2'\n",
    ]);
  });

  test('falls back to _zerorpc_list when _zerorpc_inspect gets no answer', async () => {
    // A server that only knows `list` and `name`: inspect goes unanswered
    // (as with zerorpc-node), the heartbeat declares it lost, then list.
    const quiet = await ReplayServer.start(
      vectors.scenarios.filter((s) => s.name === 'list' || s.name === 'name'),
    );
    try {
      const run = await zrpcUp('--heartbeat', '0.2', quiet.endpoint);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').slice(0, 3)).toEqual(['[Peer]', 'add', 'blob']);
      expect(quiet.unmatched.map((e) => e.name)).toEqual(['_zerorpc_inspect']);
    } finally {
      quiet.close();
    }
  });
});

describe('zrpc against a CURVE server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zrpc-cli-curve-'));
  const serverKeys = curveKeyPair();
  const mine = curveKeyPair();
  const stranger = curveKeyPair();
  const pairFile = (name: string, keys: { publicKey: string; secretKey: string }) => {
    const path = join(dir, `${name}.key`);
    writeFileSync(path, `# test\npublic=${keys.publicKey}\nsecret=${keys.secretKey}\n`);
    return path;
  };
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    ({ server, endpoint } = await startServer({
      curve: { ...serverKeys, clientKeys: [mine.publicKey] },
    }));
  });
  afterAll(async () => {
    await server.close({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a listed key calls through --curve-server-key and --curve-keys', async () => {
    const run = await zrpcUp(
      '--curve-server-key',
      serverKeys.publicKey,
      '--curve-keys',
      pairFile('mine', mine),
      '--timeout',
      '3',
      endpoint,
      'add',
      '1',
      '2',
    );
    expect(run).toMatchObject({ code: 0, stdout: '3\n' });
  });

  test('an unlisted key gets no answer (the handshake never completes)', async () => {
    const run = await zrpc(
      '--curve-server-key',
      serverKeys.publicKey,
      '--curve-keys',
      pairFile('stranger', stranger),
      '--timeout',
      '1',
      endpoint,
      'add',
      '1',
      '2',
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/NotConnectedError|TimeoutError|timeout/i);
  });

  test('the two flags go together', async () => {
    const run = await zrpc('--curve-server-key', serverKeys.publicKey, endpoint, 'add', '1', '2');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/go together/);
  });
});

describe.concurrent('zrpc ping', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    ({ server, endpoint } = await startServer());
  });
  afterAll(() => server.close({ graceMs: 0 }));

  // A server that is up answers at once; the timeout is only a hang guard on a busy machine.
  test('a server that answers: one line on stdout, exit code 0', async () => {
    const run = await zrpc('ping', endpoint, '--timeout', '10s');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      new RegExp(`^ok ${endpoint.replaceAll('.', '\\.')} provider \\d+(\\.\\d)? ms\\n$`),
    );
    const json = await zrpc('ping', '--json', endpoint.replace('tcp://', ''), '--timeout=10');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'ok', endpoint, name: 'provider' });
  });

  test('a port nobody listens on: unreachable, on stderr, exit code 1, within its timeout', async () => {
    const port = await freePort();
    expect(await zrpc('ping', String(port), '--timeout', '500ms')).toEqual({
      code: 1,
      stdout: '',
      stderr: `unreachable tcp://127.0.0.1:${port} (nothing accepted a connection within 0.5s)\n`,
    });
  });

  test('a server that takes the connection and never answers: unreachable, no answer', async () => {
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    try {
      expect(await zrpc('ping', router.lastEndpoint!, '--timeout', '0.5')).toEqual({
        code: 1,
        stdout: '',
        stderr: `unreachable ${router.lastEndpoint} (no answer within 0.5s)\n`,
      });
    } finally {
      router.close();
    }
  });

  test('a host that does not resolve: unreachable, naming it', async () => {
    const run = await zrpc('ping', 'nosuch.invalid:4242', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr)).toEqual({
      status: 'unreachable',
      endpoint: 'tcp://nosuch.invalid:4242',
      reason: 'host "nosuch.invalid" does not resolve (ENOTFOUND)',
    });
  });

  test('bad usage: exit code 2', async () => {
    const runs = await Promise.all([
      zrpc('ping'),
      zrpc('ping', endpoint, 'add'),
      zrpc('ping', endpoint, '--timeout', '1 minute'),
      zrpc('ping', endpoint, '--connect-timeout', '1'),
    ]);
    expect(runs.map((r) => [r.code, r.stderr.split('\n')[0]])).toEqual([
      [2, 'zrpc: zrpc ping needs an endpoint'],
      [2, 'zrpc: zrpc ping takes one endpoint and no method'],
      [2, 'zrpc: --timeout takes a positive number of seconds (or 500ms, 1.5s), not "1 minute"'],
      [2, 'zrpc: zrpc ping takes --timeout, which bounds connecting too'],
    ]);
  });
});

describe('zrpc ping against a server shutting down', () => {
  test('it answers ServerDrainingError: error, exit code 1', async () => {
    const { server, endpoint } = await startServer();
    const client = new Client({ endpoints: endpoint });
    try {
      // A call in flight keeps the draining server up for the probe.
      const slow = client.call('slow', 3000);
      await until(() => server.stats.running === 1, 10_000, 'the slow call to run');
      const closed = server.close({ graceMs: 10_000 });
      const run = await zrpc('ping', endpoint, '--timeout', '10s');
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `error ${endpoint} (ServerDrainingError: the server is shutting down; the call was not run)\n`,
      );
      await slow;
      await closed;
    } finally {
      await client.close();
      await server.close({ graceMs: 0 });
    }
  });
});

describe.concurrent.each([
  ['zerorpc-python-server.json', 'Peer'],
  ['zerorpc-node-server.json', 'N/A'],
] as const)('zrpc ping against the recorded %s', (file, name) => {
  let replay: ReplayServer;
  beforeAll(async () => {
    replay = await ReplayServer.start(loadVectors(file).scenarios.filter((s) => s.name === 'ping'));
  });
  afterAll(() => replay.close());

  test(`answers with its name (${name})`, async () => {
    const run = await zrpc('ping', replay.endpoint, '--timeout', '10s');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`^ok tcp://127\\.0\\.0\\.1:\\d+ ${name} \\d+(\\.\\d)? ms\n$`),
    );
  });
});
