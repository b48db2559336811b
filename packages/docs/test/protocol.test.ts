// The wire contract and its recorded truth ship with the repository:
// docs/PROTOCOL.md, and the reference peers' recorded traffic in
// packages/testkit/vectors. Nothing a test, script or benchmark reads lies
// outside the clone.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadVectors, vectorsDir } from '@zrpc/testkit';
import { expect, it } from 'vitest';
import { ROOT, readme } from './transcripts.js';

it('the root README links the copy inside the repository', () => {
  expect(readme('README.md')).toContain('](docs/PROTOCOL.md)');
  expect(readme('README.md')).not.toContain('../shared/');
});

it('the recordings the vectors README lists are in the repository, and load', () => {
  expect(relative(ROOT, vectorsDir())).toBe(join('packages', 'testkit', 'vectors'));
  const listed = [
    ...readFileSync(join(vectorsDir(), 'README.md'), 'utf8').matchAll(/^\| `([\w-]+\.json)`/gm),
  ].map((match) => match[1]);
  expect(listed).toEqual([
    'zerorpc-python-server.json',
    'zerorpc-node-server.json',
    'zerorpc-python-events.json',
  ]);
  expect(readdirSync(vectorsDir()).sort()).toEqual(['README.md', ...listed].sort());
  for (const file of ['zerorpc-python-server.json', 'zerorpc-node-server.json'] as const) {
    expect(loadVectors(file).scenarios.length).toBeGreaterThan(10);
  }
});

/** Source files of tests, scripts, benchmarks and CI, outside dependencies and build output. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const skip = ['node_modules', 'dist', 'generated', '.git', '.turbo', 'vectors'];
      return skip.includes(entry.name) ? [] : sources(path);
    }
    return /\.(ts|mts|cts|js|mjs|cjs|sh|py)$|^run$/.test(entry.name) ? [path] : [];
  });
}

it('no test, script or benchmark reads from beside the repository', () => {
  // `../shared` (or a search upward for it), or a directory given from outside.
  const outside = /\.\.\/shared\b|'shared',\s*'protocol'|ZRPC_VECTORS_DIR/;
  const offenders = sources(ROOT)
    .filter((file) => !file.endsWith(join('docs', 'test', 'protocol.test.ts')))
    .filter((file) => outside.test(readFileSync(file, 'utf8')))
    .map((file) => relative(ROOT, file));
  expect(offenders).toEqual([]);
});
