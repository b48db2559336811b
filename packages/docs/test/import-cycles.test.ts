// No source file of a package imports (even for types only) a file that
// imports it back, directly or through others: who depends on whom stays
// one-way, which is what lets a newcomer read a room without its callers.
import { join } from 'node:path';
import madge from 'madge';
import { expect, it } from 'vitest';
import { ROOT } from './transcripts.js';

it('no import cycles between the source files of the packages', async () => {
  const result = await madge(join(ROOT, 'packages'), {
    fileExtensions: ['ts'],
    excludeRegExp: [/node_modules/, /\/dist\//, /\/test\//, /\/bench\//, /\.d\.ts$/],
    tsConfig: join(ROOT, 'tsconfig.base.json'),
    detectiveOptions: { ts: { skipTypeImports: false } },
  });
  expect(Object.keys(result.obj()).length).toBeGreaterThan(50);
  expect(result.circular()).toEqual([]);
}, 60_000);
