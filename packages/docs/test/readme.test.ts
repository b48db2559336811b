// The READMEs' examples, run: every ```console transcript step by step
// (the output must be the one shown), the root README's quick-start shell
// lines and `npm start` transcript, and the runner's addrport table.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BANNER_END,
  Background,
  CLIENT_CLI,
  expectedOutput,
  fencedBlocks,
  localCommand,
  Ports,
  ROOT,
  readme,
  run,
  SERVER_CLI,
  transcriptSteps,
} from './transcripts.js';

const README_PORTS = ['4242', '4243', '8000'];

describe.each([
  'packages/server/README.md',
  'packages/client/README.md',
  'examples/hello/README.md',
])('the transcripts of %s', (file) => {
  const steps = transcriptSteps(readme(file));
  const running: Background[] = [];
  let ports: Ports;
  beforeAll(async () => {
    ports = await Ports.of(README_PORTS);
  });
  afterAll(async () => {
    // CONTROL-C: a clean shutdown, exit code 0.
    const codes = await Promise.all(running.map((server) => server.stop()));
    expect(codes.every((code) => code === 0)).toBe(true);
  });

  it('has some', () => {
    expect(steps.length).toBeGreaterThan(0);
  });

  for (const step of steps) {
    it(`line ${step.line}: $ ${step.command}`, async () => {
      const command = localCommand(step.command, ports);
      if (step.expected.at(-1) === BANNER_END) {
        const server = new Background(command);
        running.push(server);
        expect(await server.banner()).toBe(expectedOutput(step, ports));
      } else {
        expect((await run(command)).output).toBe(expectedOutput(step, ports));
      }
    });
  }
});

describe("the root README's quick-start shell lines", () => {
  // Lines of ```sh blocks that run this repository's commands: the runner
  // is started as shown, each zrpc call must succeed against it.
  const lines = fencedBlocks(readme('README.md'), 'sh')
    .flatMap((block) => block.lines)
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(
      (line) => line.startsWith(`node ${SERVER_CLI}`) || line.startsWith(`node ${CLIENT_CLI}`),
    );
  let server: Background | undefined;
  let ports: Ports;
  beforeAll(async () => {
    ports = await Ports.of(README_PORTS);
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('starts the runner, then calls it', async () => {
    expect(lines.filter((line) => line.startsWith(`node ${SERVER_CLI}`))).toHaveLength(1);
    for (const line of lines) {
      const command = localCommand(line, ports);
      if (line.startsWith(`node ${SERVER_CLI}`)) {
        server = new Background(command);
        expect(await server.banner()).toMatch(/^Listening on tcp:\/\/127\.0\.0\.1:\d+$/m);
      } else {
        const { code, output } = await run(command);
        expect({ line, code }).toEqual({ line, code: 0 });
        expect(output).not.toBe('');
      }
    }
  });
});

describe("the runner's addrport table (packages/server/README.md)", () => {
  const markdown = readme('packages/server/README.md');
  const section = markdown.slice(markdown.indexOf('### Where it listens'));
  // `| \`8000\` | \`tcp://127.0.0.1:8000\` |`: an addrport and the endpoint the banner shows.
  const rows = [...section.matchAll(/^\| `([^`]+)`[^|]*\| `(tcp:\/\/[^`]+)`/gm)].map((m) => ({
    addrport: m[1]!,
    endpoint: m[2]!,
  }));

  it('has the forms Django users know', () => {
    expect(rows.map((row) => row.addrport)).toEqual([
      '8000',
      '0.0.0.0:8000',
      '[::1]:8000',
      'localhost:8000',
    ]);
  });

  for (const { addrport, endpoint } of rows) {
    it(`${addrport} listens on ${endpoint}`, async () => {
      const ports = await Ports.of(README_PORTS);
      const server = new Background(
        `node ${SERVER_CLI} --app examples/hello ${ports.swap(addrport)}`,
      );
      try {
        expect(await server.banner()).toContain(`\nListening on ${ports.swap(endpoint)}\n`);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  }
});

describe("the root README's `npm start` transcript", () => {
  /** What varies from run to run: ports, durations, rates, peaks, and the columns they shift. */
  const normalized = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) =>
        line
          .replace(/:\/\/127\.0\.0\.1:\d+/g, '://127.0.0.1:PORT')
          .replace(/\(\d+ ms\)/g, '(N ms)')
          .replace(/in [\d.]+ s \(\d+ requests\/s\)/, 'in N s (N requests/s)')
          .replace(/up to \d+ (call|request)/g, 'up to N $1')
          .replace(/ {2,}/g, '  '),
      );

  it('is what the demo prints', async () => {
    const shown = /```\n(tickets provider on [\s\S]*?)\n```/.exec(readme('README.md'))?.[1];
    expect(shown).toBeDefined();
    const printed = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'demo.ts'],
        { cwd: join(ROOT, 'examples/tickets-web'), timeout: 120_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error}\n${stdout}${stderr}`)) : resolve(stdout),
      );
    });
    expect(normalized(printed)).toEqual(normalized(shown!));
  }, 150_000);
});
