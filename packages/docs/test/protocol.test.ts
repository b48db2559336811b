// The wire contract ships with the repository (docs/PROTOCOL.md); it is a
// copy of the project's shared one, and must not drift from it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, readme } from './transcripts.js';

const shared = join(ROOT, '..', 'shared', 'protocol', 'PROTOCOL.md');

it('the root README links the copy inside the repository', () => {
  expect(readme('README.md')).toContain('](docs/PROTOCOL.md)');
  expect(readme('README.md')).not.toContain('../shared/');
});

it.runIf(existsSync(shared))('docs/PROTOCOL.md is the shared contract, word for word', () => {
  const copy = readFileSync(join(ROOT, 'docs', 'PROTOCOL.md'), 'utf8');
  const original = readFileSync(shared, 'utf8');
  expect(copy.endsWith(`\n${original}`)).toBe(true);
});
