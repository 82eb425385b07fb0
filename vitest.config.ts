import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'collectors/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts'],
    // Root-only suites create network namespaces and start the real agent: give them room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
