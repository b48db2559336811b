// The runner's JSON log is written once per turn of the event loop: what a
// process logged must still reach stderr however it ends, and in order.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, callRaw, startCli, stopAllClis } from './runner-helpers.js';

beforeAll(assertBuilt);
afterEach(stopAllClis);

const RUNNER = fileURLToPath(new URL('../dist/runner/index.js', import.meta.url));
/** More than a pipe holds (64 KiB): the last writes wait for the reader. */
const LINES = 3000;

/** Run a script that logs LINES lines with the runner's logger, then ends by `ending`. */
function logThenEnd(ending: string): Promise<{ code: number | null; lines: string[] }> {
  const script = `
    import { runnerLogger } from ${JSON.stringify(RUNNER)};
    process.on('SIGTERM', () => process.exit(143));
    const logger = runnerLogger();
    for (let n = 0; n < ${LINES}; n++) logger.info({ n }, 'line ' + n);
    ${ending}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ code, lines: stderr.split('\n').filter(Boolean) }));
  });
}

describe('the JSON log, buffered for a turn of the event loop', () => {
  it.each([
    ['the event loop empties', '', 0],
    ['process.exit() in the same turn', 'process.exit(0);', 0],
    // (A timer holds the process open until the signal is handled.)
    [
      'SIGTERM in the same turn',
      "setTimeout(() => {}, 5000); process.kill(process.pid, 'SIGTERM');",
      143,
    ],
    ['an uncaught error in the same turn', "throw new Error('boom');", 1],
  ])('keeps every line when %s', async (_, ending, exitCode) => {
    const { code, lines } = await logThenEnd(ending);
    expect(code).toBe(exitCode);
    const logged = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(logged.map((line) => line.n)).toEqual(Array.from({ length: LINES }, (_, n) => n));
  });

  it('keeps long lines and non-ASCII text whole, in order', async () => {
    // Lines of every size around the 16 KiB batch, text of 1 to 4 UTF-8 bytes a character.
    const script = `
      import { runnerLogger } from ${JSON.stringify(RUNNER)};
      const logger = runnerLogger();
      const text = (n) => 'aé€🙂'.repeat(n);
      for (const n of [1, 1000, 1, 700, 4000, 5000, 2, 20000, 3, 1500, 1500]) logger.info({ n, text: text(n) }, 'line');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => child.on('close', resolve));
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.n)).toEqual([
      1, 1000, 1, 700, 4000, 5000, 2, 20000, 3, 1500, 1500,
    ]);
    for (const line of lines) expect(line.text).toBe('aé€🙂'.repeat(line.n));
  });

  it("keeps a server's last call lines and its stop line at SIGTERM", async () => {
    const cli = startCli(['--app', 'log-app', '127.0.0.1:0']);
    const endpoint = await cli.endpoint();
    const calls = 200;
    const replies = await Promise.all(
      Array.from({ length: calls }, (_, n) => callRaw(endpoint, 'double', [n])),
    );
    expect(replies.map((reply) => reply.args)).toEqual(
      Array.from({ length: calls }, (_, n) => [2 * n]),
    );
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    const lines = exit.stderr
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.filter((line) => line.method === 'double')).toHaveLength(calls);
    expect(lines.at(-1)).toMatchObject({ signal: 'SIGTERM', calls });
  });
});
