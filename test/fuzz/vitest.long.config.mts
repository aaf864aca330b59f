// Config of the long differential run only (test/fuzz/long-run.ts); `npm test` never loads it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/long-run.ts'],
    pool: 'forks',
    testTimeout: 0,
    hookTimeout: 0,
  },
});
