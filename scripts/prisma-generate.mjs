// `prisma generate` for one schema and several databases, as a build step:
//
//   node ../../scripts/prisma-generate.mjs prisma/schema.prisma generated sqlite postgresql
//
// A Prisma schema names one database provider, and a client generated for
// SQLite refuses a PostgreSQL adapter. So the schema is written once, and a
// copy per provider (its datasource provider and generator output replaced)
// is generated into <out>/<provider>/. The Prisma CLI wants a schema-engine
// binary even though generating needs none: where none was downloaded (its
// download is blocked, or pnpm skipped it), any existing file will do.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const [schemaFile, outDir, ...providers] = process.argv.slice(2);
if (!schemaFile || !outDir || providers.length === 0) {
  console.error('usage: prisma-generate.mjs <schema.prisma> <out dir> <provider>...');
  process.exit(2);
}

const prismaCli = createRequire(resolve('package.json')).resolve('prisma/build/index.js');
const schema = readFileSync(schemaFile, 'utf8');
mkdirSync(outDir, { recursive: true });
for (const provider of providers) {
  const copy = schema
    .replace(/(datasource\s+\w+\s*\{[^}]*provider\s*=\s*)"[^"]*"/, `$1"${provider}"`)
    .replace(/(generator\s+\w+\s*\{[^}]*output\s*=\s*)"[^"]*"/, `$1"./${provider}"`);
  const copyFile = join(outDir, `${provider}.prisma`);
  writeFileSync(
    copyFile,
    `// Generated from ${schemaFile} by scripts/prisma-generate.mjs: edit that file.\n${copy}`,
  );
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', copyFile], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}${result.stderr}`);
    process.exit(result.status ?? 1);
  }
  console.log(`generated the Prisma client for ${provider} in ${join(outDir, provider)}`);
}
