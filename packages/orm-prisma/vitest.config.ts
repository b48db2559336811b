import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.base.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      globalSetup: ['test/global-setup.ts'],
      // The tests share one PostgreSQL, and some restart it.
      fileParallelism: false,
    },
  }),
);
