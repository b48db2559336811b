// What each published package ships, as `npm pack` would pack it: the
// maps' sources (so a `.d.ts.map` leads an editor to the code), the
// README, the changelog, the license, and where it comes from.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './transcripts.js';

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  bugs?: string;
  bin?: Record<string, string>;
  engines?: { node?: string };
}

const published = readdirSync(join(ROOT, 'packages'))
  .map((dir) => join(ROOT, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson<Manifest>(join(dir, 'package.json')) }))
  .filter(({ manifest }) => manifest.private !== true);

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The files `npm pack` would put in the tarball (nothing is written). */
function packedFiles(dir: string): Set<string> {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>;
  return new Set(pack!.files.map((file) => file.path));
}

it('finds the published packages', () => {
  expect(published.map(({ manifest }) => manifest.name)).toEqual(
    expect.arrayContaining(['@zrpc/core', '@zrpc/server', '@zrpc/client']),
  );
});

const root = readJson<{ repository: { url: string }; engines: { node: string } }>(
  join(ROOT, 'package.json'),
);
const rootRepository = root.repository;

it('the root README asks for the Node.js that every package.json requires', () => {
  expect(root.engines.node).toBe('>=20.19');
  expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('Node.js 20.19 or later');
});

describe.each(published)('$manifest.name', ({ dir, manifest }) => {
  const files = packedFiles(dir);

  it('ships the sources every source map points at', () => {
    const maps = [...files].filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing = maps.flatMap((map) => {
      const { sources } = readJson<{ sources: string[] }>(join(dir, map));
      return sources
        .map((source) => normalize(join(dirname(map), source)))
        .filter((source) => !files.has(source))
        .map((source) => `${map} -> ${source}`);
    });
    expect(missing).toEqual([]);
  });

  it('ships its README, CHANGELOG and LICENSE (MIT), and its bins', () => {
    for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) {
      expect(files).toContain(file);
    }
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    for (const bin of Object.values(manifest.bin ?? {})) expect(files).toContain(normalize(bin));
  });

  it('names the repository and its directory in it', () => {
    const directory = `packages/${dir.split('/').at(-1)}`;
    expect(manifest.repository).toEqual({ type: 'git', url: rootRepository.url, directory });
    const home = rootRepository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    expect(manifest.homepage).toBe(`${home}/tree/main/${directory}#readme`);
    expect(manifest.bugs).toBe(`${home}/issues`);
  });

  it('requires the Node.js its README names', () => {
    expect(manifest.engines?.node).toBe(root.engines.node);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('Node.js 20.19 or later');
  });

  it('its bins are committed files, there before any build (an install links them)', () => {
    for (const bin of Object.values(manifest.bin ?? {})) {
      expect(bin).not.toMatch(/^(\.\/)?dist\//);
      expect(readFileSync(join(dir, bin), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    }
  });
});
