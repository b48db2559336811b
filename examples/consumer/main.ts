/**
 * The root README's "Consume" example: start the hello provider with the
 * runner, call it through the pool (a plain call, a stream, a remote error),
 * list it with the CLI, then stop the provider gracefully. Run it with
 * `node --import tsx main.ts` from this directory once the packages are
 * built (`npm start` at the root builds them, and runs the tickets pair).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteError, RPCClient } from '@zrpc/client';
import type * as Hello from '@zrpc/example-hello/rpcs';

const require = createRequire(import.meta.url);
const binOf = (pkg: string) => join(dirname(require.resolve(`${pkg}/package.json`)), 'dist/cli.js');
const helloApp = join(dirname(fileURLToPath(import.meta.url)), '../hello');

/** Start the runner on a free port and wait for the endpoint it prints. */
function startProvider(): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, [binOf('@zrpc/server'), '--app', helloApp, '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(
        `  [provider] ${chunk.toString().trimEnd().replaceAll('\n', '\n  [provider] ')}\n`,
      );
      output += chunk.toString();
      const match = /Listening on (\S+)/.exec(output);
      if (match) resolve({ child, endpoint: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`the provider exited early (code ${code})`)));
  });
}

const { child, endpoint } = await startProvider();
const client = new RPCClient<typeof Hello>({ endpoints: endpoint, max: 8, timeoutMs: 5_000 });
try {
  console.log(`\nclient.hello('zrpc')        -> ${JSON.stringify(await client.hello('zrpc'))}`);
  console.log(`client.add(2, 3)            -> ${await client.add(2, 3)}`);
  const items: number[] = [];
  for await (const n of client.countdown(5)) items.push(n);
  console.log(`client.countdown(5)         -> streamed ${items.join(', ')}`);
  try {
    await client.divide(1, 0);
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.log(
      `client.divide(1, 0)         -> RemoteError ${error.remoteName}: ${error.remoteMessage}`,
    );
  }
  console.log(`\n$ zrpc ${endpoint}`);
  console.log(
    execFileSync(process.execPath, [binOf('@zrpc/client'), endpoint], { encoding: 'utf8' }),
  );
} finally {
  await client.close();
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
}
