import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateApp } from '../src/runner/discover.js';
import { RunnerError } from '../src/runner/errors.js';
import { APPS, projectWithPackageApp } from './runner-helpers.js';

const project = projectWithPackageApp();
afterAll(() => project.remove());

const apps = realpathSync(APPS);

describe('locateApp', () => {
  it.each([
    ['ts-app', 'ts-app/rpcs.ts'],
    ['js-app', 'js-app/rpcs.js'],
    ['index-app', 'index-app/rpcs/index.ts'],
    ['./ts-app/', 'ts-app/rpcs.ts'],
    ['pkg-app', 'pkg-app/src/rpcs.ts'],
  ])('finds the rpcs module of the directory app %s', (name, rpcs) => {
    const dir = join(apps, name);
    expect(locateApp(name, APPS)).toEqual({
      name,
      dir: realpathSync(dir),
      rpcs: join(apps, rpcs),
    });
  });

  it('takes an absolute directory', () => {
    const dir = join(apps, 'js-app');
    expect(locateApp(dir, '/').rpcs).toBe(join(dir, 'rpcs.js'));
  });

  it('finds an app without rpcs, with no module', () => {
    expect(locateApp('no-rpcs', APPS).rpcs).toBeUndefined();
  });

  it('resolves a package name from node_modules, symlink resolved, rpcs in src/', () => {
    expect(locateApp('@zrpc-fixtures/pkg-app', project.dir)).toEqual({
      name: '@zrpc-fixtures/pkg-app',
      dir: join(apps, 'pkg-app'),
      rpcs: join(apps, 'pkg-app', 'src', 'rpcs.ts'),
    });
  });

  it('resolves a package from a subdirectory of the project, like Node does', () => {
    const nested = join(project.dir, 'node_modules');
    expect(locateApp('@zrpc-fixtures/pkg-app', nested).dir).toBe(join(apps, 'pkg-app'));
  });

  it.each([['./missing'], ['../missing'], [join(APPS, 'missing')]])(
    'refuses the missing directory %s',
    (name) => {
      expect(() => locateApp(name, APPS)).toThrow(
        new RunnerError(`app "${name}": directory ${resolve(APPS, name)} not found`),
      );
    },
  );

  it('refuses a name that is neither a directory nor an installed package', () => {
    expect(() => locateApp('@acme/billing', project.dir)).toThrow(
      `app "@acme/billing": no directory ${join(project.dir, '@acme/billing')} and no package "@acme/billing" in node_modules from ${project.dir} up`,
    );
  });
});
