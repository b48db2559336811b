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
  bin?: Record<string, string>;
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

const rootRepository = readJson<{ repository: { url: string } }>(
  join(ROOT, 'package.json'),
).repository;

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
    expect(manifest.repository).toEqual({
      type: 'git',
      url: rootRepository.url,
      directory: `packages/${dir.split('/').at(-1)}`,
    });
  });
});
