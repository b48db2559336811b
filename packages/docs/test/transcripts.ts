// Shell transcripts in the READMEs, run for real: a ```console block is a
// series of `$ command` lines, each followed by the output it prints
// (stdout and stderr, as a terminal shows them). Commands run with bash
// from the repository root, where `npx zrpc-server` and `npx zrpc` are the
// built commands of this repository, as in a project that installed them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SERVER_CLI = 'packages/server/dist/cli.js';
export const CLIENT_CLI = 'packages/client/dist/cli.js';

/** The last line of the runner's start banner: a step ending with it leaves a server running. */
export const BANNER_END = 'Quit with CONTROL-C.';

export interface Step {
  command: string;
  expected: string[];
  /** Where it is in its README, for failure messages. */
  line: number;
}

export function readme(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The fenced blocks of one language, each with the line of its opening fence. */
export function fencedBlocks(
  markdown: string,
  language: string,
): Array<{ line: number; lines: string[] }> {
  const blocks: Array<{ line: number; lines: string[] }> = [];
  let current: { line: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((text, index) => {
    if (current === undefined) {
      if (text.trim() === `\`\`\`${language}`) current = { line: index + 1, lines: [] };
    } else if (text.trim() === '```') {
      blocks.push(current);
      current = undefined;
    } else {
      current.lines.push(text);
    }
  });
  return blocks;
}

/** The steps of the ```console blocks of a README, in order. */
export function transcriptSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  for (const block of fencedBlocks(markdown, 'console')) {
    block.lines.forEach((text, index) => {
      if (text.startsWith('$ ')) {
        steps.push({ command: text.slice(2), expected: [], line: block.line + index + 1 });
      } else {
        steps.at(-1)?.expected.push(text);
      }
    });
  }
  return steps;
}

/** The command as this repository runs it: the built bins for npx, the README port swapped. */
export function localCommand(command: string, ports: Ports): string {
  return ports.swap(
    command
      .replace(/^npx zrpc-server\b/, `node ${SERVER_CLI}`)
      .replace(/^npx zrpc\b/, `node ${CLIENT_CLI}`),
  );
}

/**
 * The READMEs use port 4242 (the runner's default) and 8000; a test run
 * swaps each for a free port, so that it cannot meet another process on
 * this machine.
 */
export class Ports {
  private readonly map = new Map<string, string>();

  static async of(readmePorts: readonly string[]): Promise<Ports> {
    const ports = new Ports();
    for (const port of readmePorts) ports.map.set(port, String(await freePort()));
    return ports;
  }

  swap(text: string): string {
    let swapped = text;
    for (const [from, to] of this.map) {
      swapped = swapped.replace(new RegExp(`(?<=[:\\s]|^)${from}\\b`, 'g'), to);
    }
    return swapped;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** What a step's output must be: the README's lines, placeholders filled, ports swapped. */
export function expectedOutput(step: Step, ports: Ports): string {
  return ports.swap(step.expected.join('\n').replaceAll('<host>', hostname())).trimEnd();
}

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  // Set by npm and pnpm scripts; the runner's default name depends on it.
  delete env.npm_package_name;
  delete env.NODE_OPTIONS;
  delete env.FORCE_COLOR;
  return env;
}

/** Run a command to its end; its stdout and stderr together, as a terminal shows them. */
export function run(command: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `${command} 2>&1`],
      { cwd: ROOT, env: environment(), timeout: 20_000 },
      (error, stdout) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, output: stdout.trimEnd() });
      },
    );
  });
}

/** A runner started by a step, left running for the next steps, like one in another terminal. */
export class Background {
  readonly child: ChildProcess;
  output = '';

  constructor(command: string) {
    this.child = spawn('bash', ['-c', `exec ${command} 2>&1`], {
      cwd: ROOT,
      env: environment(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
  }

  /** Its output up to and including the banner's last line. */
  async banner(): Promise<string> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const end = this.output.indexOf(BANNER_END);
      if (end >= 0) return this.output.slice(0, end + BANNER_END.length);
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the runner printed no "${BANNER_END}":\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stop it as CONTROL-C does; resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGINT');
    return exited;
  }
}
