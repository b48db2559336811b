/**
 * Starts the tests' PostgreSQL once for the whole run and removes it at the
 * end. If it cannot start, the run fails here, loudly: no test is skipped.
 */
import type { TestProject } from 'vitest/node';
import { type PostgresHandle, removePostgres, startPostgres } from './support/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresHandle;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startPostgres();
  project.provide('postgres', postgres);
  return () => removePostgres(postgres);
}
