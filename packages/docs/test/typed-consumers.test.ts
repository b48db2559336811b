// Typed clients across repositories, the way a user meets them outside this
// workspace: examples/outside/provider is built with tsc and packed, and
// examples/outside/consumer installs that tarball and the packed
// @zrpc/client, then is type-checked by tsc (`module: NodeNext`, strict, no
// skipLibCheck) and run against the provider. Then the mistakes the client
// README describes, with the error codes it quotes (TS2307, TS2835, TS2688).
// Packages are laid out as npm installs them, copied rather than linked so
// that nothing of the workspace (its @types/node, say) leaks into a check.
import { type ExecFileException, execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Background, ROOT, SERVER_CLI } from './transcripts.js';

const fromRoot = createRequire(join(ROOT, 'package.json'));
const fromClient = createRequire(join(ROOT, 'packages/client/package.json'));
const fromCore = createRequire(join(ROOT, 'packages/core/package.json'));
const TSC = fromRoot.resolve('typescript/bin/tsc');
const EXAMPLE = join(ROOT, 'examples/outside');

interface Run {
  code: number;
  output: string;
}

/** Run `command` in `cwd` to its end, without the workspace's NODE_PATH. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete environment.NODE_PATH;
  delete environment.NODE_OPTIONS;
  return new Promise<Run>((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: environment, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : Number((error as ExecFileException).code ?? 1);
        resolve({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

/** tsc on one of a project's tsconfig files. */
function tsc(dir: string, project = 'tsconfig.json', flags: string[] = []): Promise<Run> {
  return run(process.execPath, [TSC, '-p', project, ...flags], dir);
}

/** The error codes tsc reported, per file: `{ 'wrong.ts': ['TS2345'] }`. */
function errorCodes(output: string): Record<string, string[]> {
  const codes: Record<string, string[]> = {};
  for (const [, file, code] of output.matchAll(/^(\S+)\(\d+,\d+\): error (TS\d+)/gm)) {
    (codes[file!] ??= []).push(code!);
  }
  return codes;
}

/** Unpack a tarball into `project`'s node_modules as `name`. */
async function install(project: string, name: string, tarball: string): Promise<void> {
  const target = join(project, 'node_modules', name);
  mkdirSync(target, { recursive: true });
  const { code, output } = await run(
    'tar',
    ['-xzf', tarball, '-C', target, '--strip-components=1'],
    project,
  );
  expect({ code, output }).toEqual({ code: 0, output: '' });
}

/** Copy an installed package into `project`'s node_modules (its own node_modules and binaries left out). */
function copyPackage(project: string, name: string, packageJson: string): void {
  const source = realpathSync(dirname(packageJson));
  const skip = new Set(['node_modules', 'build'].map((dir) => join(source, dir)));
  cpSync(source, join(project, 'node_modules', name), {
    recursive: true,
    filter: (path) => !skip.has(path),
  });
}

const typesNode = fromRoot.resolve('@types/node/package.json');
/** What a project's `npm i -D @types/node` puts in its node_modules. */
function installTypesNode(project: string): void {
  copyPackage(project, '@types/node', typesNode);
  const undici = createRequire(realpathSync(typesNode)).resolve('undici-types/package.json');
  copyPackage(project, 'undici-types', undici);
}

/** @zrpc/client and @zrpc/core from their tarballs, with their dependencies. */
async function installClient(project: string): Promise<void> {
  await install(project, '@zrpc/core', tarballs.core);
  await install(project, '@zrpc/client', tarballs.client);
  copyPackage(project, 'zeromq', fromClient.resolve('zeromq/package.json'));
  copyPackage(project, 'generic-pool', fromClient.resolve('generic-pool/package.json'));
  copyPackage(project, '@msgpack/msgpack', fromCore.resolve('@msgpack/msgpack/package.json'));
}

let tmp: string;
const tarballs = { core: '', client: '', provider: '' };
let providerBuild: Run;
let consumerBuild: Run;
const provider = () => join(tmp, 'provider');
const consumer = () => join(tmp, 'consumer');

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'zrpc-typed-consumers-'));
  const packs = join(tmp, 'packs');
  for (const name of ['core', 'client'] as const) {
    const packed = await run(
      process.execPath,
      [
        join(dirname(fromRoot.resolve('pnpm')), 'bin/pnpm.cjs'),
        'pack',
        '--pack-destination',
        packs,
      ],
      join(ROOT, 'packages', name),
    );
    expect(packed.code).toBe(0);
    const file = readdirSync(packs).find((f) => f.startsWith(`zrpc-${name}-`));
    tarballs[name] = join(packs, file!);
  }

  // The provider's repository: its sources, @zrpc/core, TypeScript's Node types; then `npm pack`.
  cpSync(join(EXAMPLE, 'provider'), provider(), { recursive: true });
  await install(provider(), '@zrpc/core', tarballs.core);
  copyPackage(provider(), '@msgpack/msgpack', fromCore.resolve('@msgpack/msgpack/package.json'));
  installTypesNode(provider());
  providerBuild = await tsc(provider());
  const packed = await run('npm', ['pack', '--pack-destination', packs], provider());
  expect(packed.code).toBe(0);
  tarballs.provider = join(packs, 'acme-tickets-provider-1.0.0.tgz');

  // The consumer's repository: @zrpc/client, the provider's package (for its types), @types/node.
  cpSync(join(EXAMPLE, 'consumer'), consumer(), { recursive: true });
  await installClient(consumer());
  await install(consumer(), '@acme/tickets-provider', tarballs.provider);
  installTypesNode(consumer());
  consumerBuild = await tsc(consumer());
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('a provider and its consumer in two repositories', () => {
  it('the provider builds, and publishes its methods as declarations under "./rpcs"', () => {
    expect(providerBuild).toEqual({ code: 0, output: '' });
    const declarations = readFileSync(join(provider(), 'dist/rpcs.d.ts'), 'utf8');
    expect(declarations).toContain('export declare function get_ticket(id: number): Ticket;');
    const manifest = JSON.parse(readFileSync(join(provider(), 'package.json'), 'utf8'));
    expect(manifest.exports['./rpcs'].types).toBe('./dist/rpcs.d.ts');
  });

  it('the consumer type-checks: NodeNext, strict, no skipLibCheck', () => {
    expect(consumerBuild).toEqual({ code: 0, output: '' });
  });
});

// tsc takes seconds per run, many more on a loaded machine.
describe('what goes wrong, with the errors the client README shows', { timeout: 180_000 }, () => {
  /** A file of the consumer's, type-checked alone with the consumer's settings. */
  async function check(file: string, source: string, flags: string[] = []): Promise<Run> {
    writeFileSync(join(consumer(), file), source);
    const config = `tsconfig.${file}.json`;
    writeFileSync(
      join(consumer(), config),
      JSON.stringify({
        extends: './tsconfig.json',
        include: [file],
        compilerOptions: { noEmit: true },
      }),
    );
    return tsc(consumer(), config, flags);
  }

  it('a wrong call does not compile', async () => {
    const { code, output } = await check(
      'wrong.ts',
      `import type * as Tickets from '@acme/tickets-provider/rpcs';
import { Client } from '@zrpc/client';
const client = new Client<typeof Tickets>({});
await client.get_ticket('1');
await client.get_tickets(1);
await client.get_ticket();
for await (const ticket of client.ticket_list(2)) ticket.title.toFixed();
`,
    );
    expect(code).toBe(2);
    expect(errorCodes(output)).toEqual({ 'wrong.ts': ['TS2345', 'TS2551', 'TS2554', 'TS2551'] });
  });

  it('TS2307: the provider package is not installed, or has no "./rpcs" export', async () => {
    const noExports = join(consumer(), 'node_modules/@acme/no-exports');
    cpSync(join(consumer(), 'node_modules/@acme/tickets-provider/dist'), join(noExports, 'dist'), {
      recursive: true,
    });
    writeFileSync(
      join(noExports, 'package.json'),
      '{ "name": "@acme/no-exports", "type": "module", "main": "dist/rpcs.js" }\n',
    );
    const { code, output } = await check(
      'missing.ts',
      `import type * as NotInstalled from '@acme/not-installed/rpcs';
import type * as NoExports from '@acme/no-exports/rpcs';
export type Apis = [typeof NotInstalled, typeof NoExports];
`,
    );
    expect(code).toBe(2);
    expect(errorCodes(output)).toEqual({ 'missing.ts': ['TS2307', 'TS2307'] });
    expect(output).toContain(
      "Cannot find module '@acme/not-installed/rpcs' or its corresponding type declarations.",
    );
  });

  it('TS2835: relative imports without .js, in the provider or in declarations it shipped', async () => {
    // In the provider's sources: its own build fails.
    const bad = join(tmp, 'provider-without-extensions');
    cpSync(provider(), bad, { recursive: true });
    const rpcs = join(bad, 'src/rpcs.ts');
    writeFileSync(rpcs, readFileSync(rpcs, 'utf8').replaceAll("'./tickets.js'", "'./tickets'"));
    const build = await tsc(bad, 'tsconfig.json', ['--noEmit']);
    expect(errorCodes(build.output)).toEqual({ 'src/rpcs.ts': ['TS2835', 'TS2835'] });
    expect(build.output).toContain("Did you mean './tickets.js'?");

    // In declarations built for a bundler and shipped as they are: the consumer's check fails...
    const bundled = join(consumer(), 'node_modules/@acme/bundled');
    cpSync(join(consumer(), 'node_modules/@acme/tickets-provider'), bundled, { recursive: true });
    const declarations = join(bundled, 'dist/rpcs.d.ts');
    writeFileSync(
      declarations,
      readFileSync(declarations, 'utf8').replaceAll("'./tickets.js'", "'./tickets'"),
    );
    const source = `import type * as Tickets from '@acme/bundled/rpcs';
import { Client } from '@zrpc/client';
const ticket = await new Client<typeof Tickets>({}).get_ticket(1);
ticket.title.toFixed();
`;
    const checked = await check('bundled.ts', source);
    expect(errorCodes(checked.output)).toEqual({
      'node_modules/@acme/bundled/dist/rpcs.d.ts': ['TS2835', 'TS2835'],
    });
    // ...and with skipLibCheck it passes, the ticket silently `any`: a wrong use compiles.
    expect(await check('bundled.ts', source, ['--skipLibCheck'])).toEqual({ code: 0, output: '' });
  });
});

describe('@types/node', { timeout: 180_000 }, () => {
  /** A project without @types/node, type-checking one file. */
  async function bare(name: string, source: string): Promise<Run> {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    await installClient(dir);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'main.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', target: 'ES2022', strict: true, noEmit: true },
        include: ['main.ts'],
      }),
    );
    expect(existsSync(join(dir, 'node_modules/@types'))).toBe(false);
    return tsc(dir);
  }

  it('a client consumer needs it: zeromq declarations reference Node types', async () => {
    const { code, output } = await bare(
      'client-without-node-types',
      "import { Client } from '@zrpc/client';\nawait new Client({}).close();\n",
    );
    expect(code).toBe(2);
    expect(output).toContain("error TS2688: Cannot find type definition file for 'node'.");
  });

  it('a middleware or an rpcs module on @zrpc/core alone does not', async () => {
    const result = await bare(
      'core-without-node-types',
      `import { currentCall, rpc, type ServerMiddleware } from '@zrpc/core';
export const whoami = rpc.register(function whoami() {
  return currentCall()?.method;
});
export const timing: ServerMiddleware = async (_ctx, next) => {
  await next();
};
`,
    );
    expect(result).toEqual({ code: 0, output: '' });
  });
});

// Last: it swaps the consumer's zeromq (declarations only) for the installed one.
describe('at run time', () => {
  it('the consumer calls the provider (served from its compiled dist/)', async () => {
    // Runtime: the real zeromq, binaries included, where the type checks had its declarations.
    rmSync(join(consumer(), 'node_modules/zeromq'), { recursive: true });
    symlinkSync(
      realpathSync(dirname(fromClient.resolve('zeromq/package.json'))),
      join(consumer(), 'node_modules/zeromq'),
    );
    const server = new Background(`node ${SERVER_CLI} --app ${provider()}/dist 127.0.0.1:0`);
    try {
      const endpoint = /Listening on (\S+)/.exec(await server.banner())![1]!;
      const called = await run(process.execPath, ['dist/main.js'], consumer(), {
        TICKETS_ENDPOINT: endpoint,
      });
      expect(called).toEqual({
        code: 0,
        output: [
          'ticket 1: Login page times out (open)',
          'newest: VPN drops every hour',
          'newest: Printer on floor 3 is jammed',
          'DoesNotExist',
        ].join('\n'),
      });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 60_000);
});
