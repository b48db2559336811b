import { defineConfig } from 'vitest/config';

// One test setup for every package: each package's vitest.config.ts re-exports it.
// The JSON report feeds scripts/run-tests.mjs, which prints the closing line.

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
