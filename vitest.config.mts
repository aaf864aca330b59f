import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native addons and process-wide state (warnings, GC, exit): one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    server: {
      deps: {
        // dist/ is the built package: load it with Node itself (CommonJS + the
        // addon), so tests and children see one module instance.
        external: [/\/dist\//],
      },
    },
  },
});
